//! The detector serving one camera: the CPU zone detector, or YOLO on the RK3588 NPU with the zone
//! detector standing by — never nothing.
//!
//! [`Backend::open`] honours `detector = "npu"` only when this build has the NPU (feature `rknpu`),
//! the runtime library is installed and the model loads; otherwise the camera is served by the CPU
//! zone detector and the reason ([`Fallback`]) is kept for the event log and the console. With the
//! NPU serving, the zone detector still runs on every frame (it costs `zones × 192` pixel reads),
//! so its background model is current the moment an inference fails: from then on the zone
//! detector serves alone ([`Fallback::RunTime`]).
//!
//! With the NPU, a zone's presence is a vehicle (COCO car, motorcycle, bus, truck) whose
//! bottom-centre lies in the zone's quad; its count goes up when presence ends (the vehicle left
//! the zone); queue length and health come from the zone detector.

pub use crate::camera::pipeline::Fallback;
use crate::camera::pipeline::{DetectError, Detector};
use crate::config::camera::{CameraConfig, DetectorKind};
use crate::detect::zone::ZoneDetector;
use crate::detect::DetectorSnapshot;
use crate::time::Instant;

/// One camera's detector.
pub struct Backend {
    zone: ZoneDetector,
    #[cfg(feature = "rknpu")]
    npu: Option<Box<npu_zones::NpuZones>>,
    fallback: Option<Fallback>,
}

impl Backend {
    /// The detector `cfg` asks for, or the CPU zone detector and why (allocates model buffers;
    /// start-up only). The returned text explains the fallback for the log.
    pub fn open(cfg: &CameraConfig) -> (Backend, Option<String>) {
        let zone = ZoneDetector::new(cfg.clone());
        if cfg.detector == DetectorKind::Cpu {
            return (Backend::cpu(zone), None);
        }
        Backend::open_npu(cfg, zone)
    }

    /// The CPU zone detector alone.
    pub fn cpu(zone: ZoneDetector) -> Backend {
        Backend {
            zone,
            #[cfg(feature = "rknpu")]
            npu: None,
            fallback: None,
        }
    }

    #[cfg(not(feature = "rknpu"))]
    fn open_npu(_cfg: &CameraConfig, zone: ZoneDetector) -> (Backend, Option<String>) {
        let why = "this build has no NPU support (build with --features rknpu)".to_string();
        (
            Backend {
                zone,
                fallback: Some(Fallback::NotBuilt),
            },
            Some(why),
        )
    }

    #[cfg(feature = "rknpu")]
    fn open_npu(cfg: &CameraConfig, zone: ZoneDetector) -> (Backend, Option<String>) {
        use crate::detect::npu::{NpuError, DEFAULT_LIBRARY};
        match npu_zones::NpuZones::open(std::path::Path::new(DEFAULT_LIBRARY), cfg) {
            Ok(n) => (
                Backend {
                    zone,
                    npu: Some(Box::new(n)),
                    fallback: None,
                },
                None,
            ),
            Err(e) => {
                let f = match e {
                    NpuError::Unavailable(_) => Fallback::Unavailable,
                    NpuError::Model(_) => Fallback::ModelLoad,
                };
                (
                    Backend {
                        zone,
                        npu: None,
                        fallback: Some(f),
                    },
                    Some(e.to_string()),
                )
            }
        }
    }

    pub fn zone_detector(&self) -> &ZoneDetector {
        &self.zone
    }
}

impl Detector for Backend {
    fn process(&mut self, at: Instant, pixels: &[u8]) -> Result<(), DetectError> {
        self.zone.process(at, pixels).map_err(|_| DetectError::FrameSize)?;
        #[cfg(feature = "rknpu")]
        if let Some(n) = self.npu.as_mut() {
            if let Err(e) = n.process(pixels) {
                log::error!("camera NPU: {e}; the CPU zone detector serves from now on");
                self.npu = None;
                self.fallback = Some(Fallback::RunTime);
            }
        }
        Ok(())
    }

    fn fill(&self, snap: &mut DetectorSnapshot) {
        self.zone.fill(snap, false);
        #[cfg(feature = "rknpu")]
        if let Some(n) = self.npu.as_ref() {
            n.fill(snap);
        }
    }

    fn kind(&self) -> DetectorKind {
        #[cfg(feature = "rknpu")]
        if self.npu.is_some() {
            return DetectorKind::Npu;
        }
        DetectorKind::Cpu
    }

    fn fallback(&self) -> Option<Fallback> {
        self.fallback
    }
}

#[cfg(feature = "rknpu")]
mod npu_zones {
    //! YOLO on the NPU → zone presence and counts.

    use crate::config::camera::{CameraConfig, ZoneConfig, MAX_ZONES};
    use crate::detect::npu::{Npu, NpuError, HEAD_OUTPUTS};
    use crate::detect::yolo::{decode, in_quad, Branch, Detection, QTensor, BOX_CHANNELS, CLASSES, MAX_DETECTIONS};
    use crate::detect::DetectorSnapshot;
    use rknpu2::query::{OutputAttr, TensorAttrView};

    /// The model's input side (pixels).
    const INPUT: usize = 640;
    /// Detections below this score are ignored (the model zoo's default for YOLOv8).
    const THRESHOLD: f32 = 0.25;
    const IOU: f32 = 0.45;

    #[derive(Clone, Copy)]
    struct Quant {
        zero_point: i32,
        scale: f32,
        height: usize,
        width: usize,
    }

    pub struct NpuZones {
        npu: Npu,
        zones: heapless::Vec<ZoneConfig, MAX_ZONES>,
        /// Frame → model input: one scale for both axes (letterbox), `scale` input px per frame px.
        scale: f32,
        width: usize,
        height: usize,
        rgb: Box<[u8]>,
        outputs: [Box<[i8]>; HEAD_OUTPUTS],
        quant: [Quant; HEAD_OUTPUTS],
        found: heapless::Vec<Detection, MAX_DETECTIONS>,
        present: [bool; MAX_ZONES],
        counts: [u16; MAX_ZONES],
    }

    impl NpuZones {
        pub fn open(library: &std::path::Path, cfg: &CameraConfig) -> Result<NpuZones, NpuError> {
            let npu = Npu::open(library, &cfg.model)?;
            let mut quant = [Quant {
                zero_point: 0,
                scale: 1.0,
                height: 0,
                width: 0,
            }; HEAD_OUTPUTS];
            let mut outputs: [Box<[i8]>; HEAD_OUTPUTS] = Default::default();
            for (i, (q, o)) in quant.iter_mut().zip(outputs.iter_mut()).enumerate() {
                let a: OutputAttr = npu
                    .rknn
                    .query_with_input(i as u32)
                    .map_err(|e| NpuError::Model(format!("output {i}: {e:?}")))?;
                let dims = a.dims();
                let (h, w) = match dims {
                    [_, _, h, w] => (*h as usize, *w as usize),
                    _ => return Err(NpuError::Model(format!("output {i} has dims {dims:?}, not NCHW"))),
                };
                *q = Quant {
                    zero_point: a.zero_point(),
                    scale: a.scale(),
                    height: h,
                    width: w,
                };
                *o = vec![0i8; a.num_elements() as usize].into_boxed_slice();
            }
            let scale = (INPUT as f32 / cfg.width as f32).min(INPUT as f32 / cfg.height as f32);
            Ok(NpuZones {
                npu,
                zones: cfg.zones.clone(),
                scale,
                width: cfg.width as usize,
                height: cfg.height as usize,
                rgb: vec![114u8; INPUT * INPUT * 3].into_boxed_slice(),
                outputs,
                quant,
                found: heapless::Vec::new(),
                present: [false; MAX_ZONES],
                counts: [0; MAX_ZONES],
            })
        }

        /// One inference on a `width × height` luma frame.
        pub fn process(&mut self, pixels: &[u8]) -> Result<(), NpuError> {
            // Letterbox (top-left aligned), nearest neighbour, grey into all three channels.
            let (w, h) = (self.width, self.height);
            let (iw, ih) = (
                ((w as f32 * self.scale) as usize).min(INPUT),
                ((h as f32 * self.scale) as usize).min(INPUT),
            );
            for y in 0..ih {
                let sy = ((y as f32 / self.scale) as usize).min(h - 1);
                for x in 0..iw {
                    let sx = ((x as f32 / self.scale) as usize).min(w - 1);
                    let v = pixels.get(sy * w + sx).copied().unwrap_or(0);
                    if let Some(px) = self.rgb.get_mut((y * INPUT + x) * 3..(y * INPUT + x) * 3 + 3) {
                        px.fill(v);
                    }
                }
            }
            {
                let [o0, o1, o2, o3, o4, o5, o6, o7, o8] = &mut self.outputs;
                let mut outs: [&mut [i8]; HEAD_OUTPUTS] = [o0, o1, o2, o3, o4, o5, o6, o7, o8];
                self.npu.infer(&self.rgb, &mut outs)?;
            }
            let t = |i: usize, channels: usize| {
                let q = self.quant[i];
                QTensor {
                    data: &self.outputs[i],
                    channels,
                    height: q.height,
                    width: q.width,
                    zero_point: q.zero_point,
                    scale: q.scale,
                }
            };
            let branches = [0usize, 1, 2].map(|b| Branch {
                stride: 8 << b,
                boxes: t(3 * b, BOX_CHANNELS),
                classes: t(3 * b + 1, CLASSES),
                score_sum: Some(t(3 * b + 2, 1)),
            });
            decode(&branches, THRESHOLD, IOU, &mut self.found)
                .map_err(|e| NpuError::Model(format!("decode: {e:?}")))?;
            for (z, cfg) in self.zones.iter().enumerate() {
                let now = self.found.iter().any(|d| {
                    d.road_user().is_some_and(|u| u.is_vehicle()) && {
                        let (x, y) = d.bottom_centre();
                        in_quad((x / self.scale, y / self.scale), &cfg.quad)
                    }
                });
                if self.present[z] && !now {
                    self.counts[z] = self.counts[z].wrapping_add(1);
                }
                self.present[z] = now;
            }
            Ok(())
        }

        /// Presence and counts of the zones into `snap` (queue and health stay the zone detector's).
        pub fn fill(&self, snap: &mut DetectorSnapshot) {
            for (z, cfg) in self.zones.iter().enumerate() {
                let i = usize::from(cfg.detector.saturating_sub(1));
                snap.presence.set(i, self.present[z]);
                if let Some(c) = snap.counts.get_mut(i) {
                    *c = self.counts[z];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npu_unavailable_falls_back_to_the_cpu_zone_detector() {
        let cfg = CameraConfig::parse(
            "detector = \"npu\"\nmodel = \"/nonexistent/yolov8n.rknn\"\nwidth = 64\nheight = 48\n[[zone]]\ndetector = 1\nquad = [[10, 46], [20, 46], [20, 2], [10, 2]]\n",
            "site.toml",
        )
        .unwrap();
        let (mut b, why) = Backend::open(&cfg);
        // On this host: either the build has no NPU, or there is no runtime library / model.
        assert!(why.is_some());
        assert!(matches!(
            b.fallback(),
            Some(Fallback::NotBuilt | Fallback::Unavailable | Fallback::ModelLoad)
        ));
        assert_eq!(b.kind(), DetectorKind::Cpu);
        // And the CPU detector serves: frames are processed and the zone reports.
        for k in 0..3u64 {
            b.process(Instant(k * 100), &[90u8; 64 * 48]).unwrap();
        }
        let mut s = DetectorSnapshot::EMPTY;
        b.fill(&mut s);
        assert_eq!(s.health[0], crate::detect::DetectorHealth::Ok);
        let (b, why) = Backend::open(&CameraConfig {
            detector: DetectorKind::Cpu,
            ..cfg
        });
        assert_eq!((b.kind(), b.fallback(), why), (DetectorKind::Cpu, None, None));
    }
}

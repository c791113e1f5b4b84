//! The RK3588 NPU (feature `rknpu`): loads `librknnrt.so` at run time and a YOLOv8 `.rknn` model.
//!
//! `rknpu2`'s `new_with_library` unwraps when `dlopen` fails, so the library path and the model
//! file are checked first and a board without an NPU runtime gets [`NpuError::Unavailable`] — the
//! caller then serves detection with the CPU zone detector. The head's int8 outputs are decoded by
//! [`crate::detect::yolo`].

use rknpu2::api::runtime::RuntimeAPI;
use rknpu2::api::RknnInitFlags;
use rknpu2::RKNN;
use std::path::Path;

/// Where Rockchip's runtime is installed on RK3588 board images.
pub const DEFAULT_LIBRARY: &str = "/usr/lib/librknnrt.so";

#[derive(Debug)]
pub enum NpuError {
    /// No NPU runtime here: use the CPU zone detector.
    Unavailable(String),
    /// The model file is missing or the runtime refused it.
    Model(String),
}

impl core::fmt::Display for NpuError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NpuError::Unavailable(why) => write!(f, "NPU unavailable ({why}); the CPU zone detector serves"),
            NpuError::Model(why) => write!(f, "NPU model: {why} (see models/README.md)"),
        }
    }
}

pub struct Npu {
    pub rknn: RKNN<RuntimeAPI>,
}

/// Output tensors of the YOLOv8 head in model order (box, class, score-sum per stride 8/16/32),
/// each as int8 filled by the runtime.
pub const HEAD_OUTPUTS: usize = 9;

impl Npu {
    pub fn open(library: &Path, model: &Path) -> Result<Npu, NpuError> {
        if !library.is_file() {
            return Err(NpuError::Unavailable(format!("{} not found", library.display())));
        }
        let mut data = crate::config::file::read_bytes(model, crate::limits::NPU_MODEL_MAX_BYTES)
            .map_err(|e| NpuError::Model(format!("{}: {e}", model.display())))?;
        let rknn = RKNN::new_with_library(library, &mut data, RknnInitFlags::builder())
            .map_err(|e| NpuError::Model(format!("{}: {e:?}", model.display())))?;
        Ok(Npu { rknn })
    }

    /// One inference: `rgb` is the 640 × 640 × 3 input (NHWC, u8); the head's int8 outputs are
    /// written into `outputs` (preallocated by the caller, sized from the model) for
    /// [`crate::detect::yolo::decode`]. The runtime wrapper builds small descriptor vectors per
    /// call; this runs on the detection thread, never on the control loop.
    pub fn infer(&self, rgb: &[u8], outputs: &mut [&mut [i8]; HEAD_OUTPUTS]) -> Result<(), NpuError> {
        use rknpu2::io::buffer::{BufMutView, BufView};
        use rknpu2::io::input::Input;
        use rknpu2::io::output::{Output, OutputKind};
        use rknpu2::tensor::{TensorFormat, TensorFormatKind};
        let input = Input::new(0, BufView::U8(rgb), false, TensorFormatKind::NHWC(TensorFormat::NHWC));
        self.rknn
            .set_inputs(input)
            .map_err(|e| NpuError::Model(format!("set inputs: {e:?}")))?;
        self.rknn.run().map_err(|e| NpuError::Model(format!("run: {e:?}")))?;
        let mut outs: heapless::Vec<Output<'_>, HEAD_OUTPUTS> = heapless::Vec::new();
        for (i, buf) in outputs.iter_mut().enumerate() {
            let o = Output {
                index: i as u32,
                kind: OutputKind::Preallocated {
                    buf: BufMutView::I8(buf),
                    want_float: false,
                },
            };
            if outs.push(o).is_err() {
                break;
            }
        }
        self.rknn
            .get_outputs(&mut outs)
            .map_err(|e| NpuError::Model(format!("get outputs: {e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_runtime_means_unavailable_not_a_crash() {
        let e = Npu::open(Path::new("/nonexistent/librknnrt.so"), Path::new("models/yolov8n.rknn"))
            .err()
            .unwrap();
        assert!(matches!(e, NpuError::Unavailable(_)));
        assert!(e.to_string().contains("CPU zone detector"));
    }
}

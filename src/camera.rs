//! Cameras: frames from V4L2 (or a renderer) into preallocated rings, leased by the detector.
//!
//! [`ring::FrameRing`] holds N grayscale frame slots allocated at start-up. The capture thread
//! writes into a free slot (or the oldest unread one, counting the drop); the detection thread
//! leases the newest frame through an RAII guard that returns the slot when dropped. A camera that
//! stops delivering is noticed by [`ring::FrameRing::stale`] and reported as
//! `DetectorHealth::Stale` for its zones, so the planner falls back to Webster.
//!
//! [`pipeline`] holds the stages as synchronous steps (capture → ring → detection → lock-free
//! hand-off → the loop's `CameraSource`), driven by threads on a board or by a simulator's steps.
//! `v4l2` (feature `v4l2`) is the real capture backend; `y4m` plays a recorded YUV4MPEG2 clip as a
//! camera (the `file:` source) and writes such clips. `overlay` draws the zones (outline, stop
//! line, zone and detector number) on a frame; `snapshot` keeps JPEG snapshots in a directory under
//! a byte budget and `snapshot::service` takes them on a writer thread for the running controller
//! (console, monitor fault, preemption); `zone_map` is `greenwave zones`, the zones over a frame as
//! a PNG.

pub mod backend;
pub mod overlay;
pub mod pipeline;
pub mod ring;
pub mod set;
pub mod snapshot;
#[cfg(feature = "v4l2")]
pub mod v4l2;
pub mod y4m;
pub mod zone_map;

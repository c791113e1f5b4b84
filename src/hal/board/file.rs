//! The board file as written on disk (`board/<board>.toml`), deserialized with spans so every error
//! names its line. See `board/rpi4.toml` for a commented example.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardFile {
    pub board: BoardSection,
    #[serde(default)]
    pub head: Vec<Spanned<HeadSection>>,
    #[serde(default)]
    pub ped: Vec<Spanned<PedHeadSection>>,
    #[serde(default)]
    pub inputs: Option<Spanned<InputsSection>>,
    #[serde(default)]
    pub watchdog: Option<Spanned<WatchdogSection>>,
    /// Console port settings, read by the console start-up code.
    #[serde(default)]
    pub console: Option<toml::Value>,
    /// Camera device settings, read by the camera subsystem.
    #[serde(default)]
    pub camera: Option<toml::Value>,
}

/// A GPIO line: an offset on the board's default chip (`17`), `"CHIP:OFFSET"` where CHIP is a chip
/// label, `gpiochipN`, a `/dev` path or `i2c:BUS-ADDR` (`"i2c:1-0020:5"`), or a Rockchip pin name
/// (`"GPIO3_C3"` = bank 3, group C, pin 3).
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum LineSpec {
    Offset(i64),
    Named(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardSection {
    pub name: Spanned<String>,
    /// "gpio-cdev" (Linux GPIO character device) or "rpi" (rppal, the Pi's own header only).
    #[serde(default = "default_backend")]
    pub backend: Spanned<String>,
    /// Chip of bare line offsets: a label (`pinctrl-bcm2711`), `gpiochipN`, a path or `i2c:BUS-ADDR`.
    pub chip: Spanned<String>,
    /// Relay inputs switch on when the GPIO line is low (most opto-isolated relay boards).
    #[serde(default)]
    pub active_low: bool,
    /// The flash-transfer relay: energised while the controller drives the heads; de-energised the
    /// cabinet flasher takes over.
    pub flash_transfer: Spanned<LineSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadSection {
    pub phase: Spanned<i64>,
    pub red: Spanned<LineSpec>,
    pub yellow: Spanned<LineSpec>,
    pub green: Spanned<LineSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PedHeadSection {
    pub phase: Spanned<i64>,
    pub walk: Spanned<LineSpec>,
    pub dont_walk: Spanned<LineSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsSection {
    /// Contacts close to ground (line low = pressed / active / open door).
    #[serde(default = "yes")]
    pub active_low: bool,
    /// "off", "pull-up" or "pull-down".
    #[serde(default = "default_bias")]
    pub bias: Spanned<String>,
    /// A level must hold this long before it counts (contact bounce is 1-20 ms).
    #[serde(default = "default_debounce")]
    pub debounce_ms: Spanned<i64>,
    #[serde(default)]
    pub door: Option<Spanned<LineSpec>>,
    #[serde(default)]
    pub ped_button: Vec<Spanned<PhaseInput>>,
    #[serde(default)]
    pub preempt: Vec<Spanned<PreemptInput>>,
    #[serde(default)]
    pub transit: Vec<Spanned<PhaseInput>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseInput {
    pub phase: Spanned<i64>,
    pub line: Spanned<LineSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreemptInput {
    pub number: Spanned<i64>,
    pub line: Spanned<LineSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogSection {
    #[serde(default = "default_watchdog")]
    pub device: Spanned<String>,
    #[serde(default = "default_timeout")]
    pub timeout_s: Spanned<i64>,
}

fn default_backend() -> Spanned<String> {
    Spanned::new(0..0, "gpio-cdev".into())
}
fn default_bias() -> Spanned<String> {
    Spanned::new(0..0, "off".into())
}
fn default_debounce() -> Spanned<i64> {
    Spanned::new(0..0, 30)
}
fn default_watchdog() -> Spanned<String> {
    Spanned::new(0..0, "/dev/watchdog".into())
}
fn default_timeout() -> Spanned<i64> {
    Spanned::new(0..0, 10)
}
fn yes() -> bool {
    true
}

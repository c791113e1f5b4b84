//! The board file as written on disk: TOML, deserialized with spans so that every validation error
//! can name the line.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoardFile {
    pub(super) board: Spanned<BoardSection>,
    #[serde(default)]
    pub(super) head: Vec<Spanned<HeadSection>>,
    #[serde(default)]
    pub(super) ped: Vec<Spanned<PedSection>>,
    #[serde(default)]
    pub(super) input: Vec<Spanned<InputSection>>,
    #[serde(default)]
    pub(super) mmu: Option<Spanned<super::mmu::MmuSection>>,
    #[serde(default)]
    pub(super) snmp: Option<Spanned<crate::config::snmp::SnmpSection>>,
    pub(super) mqtt: Option<Spanned<crate::config::mqtt::MqttSection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChipSection {
    pub(super) path: Spanned<String>,
    pub(super) driver: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoardSection {
    pub(super) name: Spanned<String>,
    pub(super) chips: Spanned<Vec<ChipSection>>,
    #[serde(default)]
    pub(super) active_low: bool,
    pub(super) flash_transfer: Option<Spanned<toml::Value>>,
    #[serde(default = "default_debounce")]
    pub(super) debounce_ms: Spanned<i64>,
    pub(super) console: Option<Spanned<String>>,
    #[serde(default = "default_baud")]
    pub(super) baud: Spanned<i64>,
    pub(super) watchdog: Option<Spanned<String>>,
    #[serde(default = "default_wd_timeout")]
    pub(super) watchdog_timeout_s: Spanned<i64>,
    #[serde(default = "default_event_dir")]
    pub(super) event_dir: Spanned<String>,
    #[serde(default = "default_state_dir")]
    pub(super) state_dir: Spanned<String>,
    #[serde(default = "default_snapshot_budget")]
    pub(super) snapshot_budget_mib: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HeadSection {
    pub(super) phase: Spanned<i64>,
    pub(super) red: Spanned<toml::Value>,
    pub(super) yellow: Spanned<toml::Value>,
    pub(super) green: Spanned<toml::Value>,
    #[serde(default)]
    pub(super) fya: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PedSection {
    pub(super) phase: Spanned<i64>,
    pub(super) walk: Spanned<toml::Value>,
    pub(super) dont_walk: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InputSection {
    pub(super) kind: Spanned<String>,
    #[serde(default)]
    pub(super) phase: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) number: Option<Spanned<i64>>,
    pub(super) line: Spanned<toml::Value>,
    #[serde(default = "yes")]
    pub(super) active_low: bool,
    /// Detector inputs: the site detector number the channel feeds.
    #[serde(default)]
    pub(super) channel: Option<Spanned<i64>>,
    /// Detector inputs: debounce and diagnostics (`detect::loops::LoopConfig`).
    #[serde(default)]
    pub(super) debounce_ms: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) max_presence_s: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) no_activity_s: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) max_changes_per_min: Option<Spanned<i64>>,
}

fn sp<T>(v: T) -> Spanned<T> {
    crate::config::diag::unspanned(v)
}
fn default_debounce() -> Spanned<i64> {
    sp(30)
}
fn default_baud() -> Spanned<i64> {
    sp(115_200)
}
fn default_wd_timeout() -> Spanned<i64> {
    sp(10)
}
fn default_event_dir() -> Spanned<String> {
    sp("/var/log/greenwave".into())
}
fn default_state_dir() -> Spanned<String> {
    sp("/var/lib/greenwave".into())
}
fn default_snapshot_budget() -> Spanned<i64> {
    sp((crate::limits::SNAPSHOT_BUDGET_BYTES >> 20) as i64)
}
fn yes() -> bool {
    true
}

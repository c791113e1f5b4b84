//! SNMP agent fuzzing: arbitrary datagrams go through the whole message path of the NTCIP 1202
//! agent (`central::snmp::proto`): version sniffing, BER decoding (rasn), the v2c community check,
//! the SNMPv3 USM checks (engine ID, user, HMAC, time window, AES decryption), GET / GETNEXT /
//! GETBULK / SET over the object table, and encoding of the answer. Nothing may panic, and no
//! answer may exceed the largest datagram the agent sends.
#![no_main]

use greenwave::central::snmp::agent::engine_id;
use greenwave::central::snmp::mib::Identity;
use greenwave::central::snmp::proto::{Commands, Now, Protocol, Refusal, Settings, MAX_PACKET};
use greenwave::central::snmp::usm::UserKeys;
use greenwave::central::status::{DetectorState, PhaseParams, UnitStatus};
use greenwave::console::view::Action;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Accepts every SET (the fuzzer rarely forges a MAC, but v2c SETs and their refusals run).
struct Accept;
impl Commands for Accept {
    fn apply(&mut self, actions: &[Action]) -> Result<(), (usize, Refusal)> {
        assert!(actions.len() <= 64);
        Ok(())
    }
}

fn status() -> UnitStatus {
    let mut s = UnitStatus::EMPTY;
    for p in 1..=8u8 {
        s.phases[usize::from(p - 1)] = PhaseParams {
            number: p,
            min_green_s: 5,
            walk_s: if p % 2 == 0 { 7 } else { 0 },
            ring: 1 + u8::from(p > 4),
            ..PhaseParams::default()
        };
    }
    for d in 0..12u8 {
        s.detectors[usize::from(d)] = DetectorState {
            number: d + 1,
            presence: d % 3 == 0,
            ..DetectorState::default()
        };
    }
    s.preempts[0] = 1;
    s.groups.greens = 0b0010_0010;
    s.unix_ms = 1_800_000_000_000;
    s
}

fn keys() -> &'static UserKeys {
    static K: OnceLock<UserKeys> = OnceLock::new();
    K.get_or_init(|| UserKeys::from_passwords("tmc", "authpass123", "privpass456", &engine_id(1)))
}

fuzz_target!(|data: &[u8]| {
    let s = status();
    let ident = Identity {
        descr: "greenwave fuzz".into(),
        name: "fuzz".into(),
    };
    let mut p = Protocol::new(Settings {
        community: Some("public".into()),
        users: vec![keys().clone()],
        engine_id: engine_id(1),
        boots: 7,
        salt: 42,
    });
    let now = Now {
        status: &s,
        ident: &ident,
        engine_time_s: 100,
        uptime_cs: 10_000,
    };
    if let Some(out) = p.handle(data, &now, &mut Accept) {
        assert!(out.len() <= MAX_PACKET, "answer of {} octets", out.len());
    }
});

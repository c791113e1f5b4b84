//! The JSON payloads of the telemetry topics (README "Fleet telemetry over MQTT").
//!
//! Every message carries `device`, `boot` (Unix ms when the publisher started: a consumer resets
//! its sequence tracking when it changes) and `seq` (one counter over all of a device's topics,
//! assigned when the message is queued): a gap in `seq` is a message dropped while the broker was
//! away; a `seq` not above the highest seen is a QoS 1 duplicate.
//!
//! Event rows carry the CSV event log's fields under its column names (`TimeStamp`, `DeviceId`,
//! `EventId`, `Parameter`; Indiana hi-res codes), the timestamp in the controller's local time like
//! the log, so an ATSPM importer takes them as it takes the files.
//!
//! Written by hand with `core::fmt`: the values are numbers and the controller's own names, the
//! shape is fixed, and the publisher thread needs no JSON library for it.

use crate::central::status::UnitStatus;
use crate::events::csv::{write_timestamp, TimeBase};
use crate::events::{code, Event};
use crate::time::Instant;
use core::fmt::Write;

/// The identity every message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub device: u16,
    pub boot: i64,
    pub seq: u64,
}

fn head(o: &mut String, h: &Header) {
    let _ = write!(o, "{{\"device\":{},\"boot\":{},\"seq\":{}", h.device, h.boot, h.seq);
}

/// A JSON string (the names here are plain ASCII; quotes, backslashes and controls are escaped
/// anyway).
fn string(o: &mut String, s: &str) {
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

fn opt_string(o: &mut String, s: Option<&str>) {
    match s {
        Some(s) => string(o, s),
        None => o.push_str("null"),
    }
}

/// The local civil timestamp of a Unix time, as the CSV log writes it.
fn timestamp(o: &mut String, time: &mut TimeBase, unix_ms: i64) {
    // A time base anchored at the epoch: controller instant = Unix ms.
    let civil = time.civil_ms(Instant(u64::try_from(unix_ms).unwrap_or(0)));
    o.push('"');
    let _ = write_timestamp(o, civil);
    o.push('"');
}

/// Events published on the `alarm` topic at once, besides their event batch: controller alarms
/// (event 174), detector faults (84-88) and flash on (173 with parameter 1).
pub fn is_alarm(ev: &Event) -> bool {
    matches!(
        ev.code,
        code::ALARM | code::DETECTOR_FAULT_OTHER..=code::DETECTOR_FAULT_EXCESSIVE_CHANGE
    ) || (ev.code == code::FLASH_STATUS && ev.param == 1)
}

/// What an alarm event means, in words.
pub fn alarm_text(ev: &Event) -> &'static str {
    use crate::events::alarm;
    use crate::fault::FaultKind as K;
    match ev.code {
        code::ALARM => {
            const KINDS: [K; 13] = [
                K::Conflict,
                K::DualIndication,
                K::WalkWithoutGreen,
                K::UnconfiguredHeadLit,
                K::DarkHead,
                K::SkippedYellow,
                K::YellowToGreen,
                K::ShortYellow,
                K::ShortRedClearance,
                K::RelayReadBack,
                K::Stopped,
                K::Controller,
                K::BadPermissive,
            ];
            match ev.param {
                alarm::EVENT_LOG_WRITE => "event log writes failing",
                alarm::STATE_SAVE => "state save failed",
                alarm::CLOCK_STEP => "wall clock stepped",
                alarm::NPU_FALLBACK => "camera detection fell back from the NPU to the CPU",
                p => KINDS
                    .iter()
                    .find(|k| k.number() == p)
                    .map_or("controller alarm", |k| k.name()),
            }
        }
        code::DETECTOR_FAULT_OTHER => "detector fault (other)",
        code::DETECTOR_FAULT_WATCHDOG => "detector fault: source stale (watchdog)",
        code::DETECTOR_FAULT_OPEN => "detector fault: no activity (open loop)",
        code::DETECTOR_FAULT_SHORTED => "detector fault: presence held (shorted loop)",
        code::DETECTOR_FAULT_EXCESSIVE_CHANGE => "detector fault: excessive changes (chatter)",
        code::FLASH_STATUS => "flash on",
        _ => "alarm",
    }
}

/// `greenwave/<device>/alarm`: one alarm event.
pub fn alarm(o: &mut String, h: &Header, time: &mut TimeBase, ev: &Event, unix_ms: i64) {
    head(o, h);
    o.push_str(",\"TimeStamp\":");
    timestamp(o, time, unix_ms);
    let _ = write!(
        o,
        ",\"unix_ms\":{unix_ms},\"DeviceId\":{},\"EventId\":{},\"Parameter\":{},\"alarm\":",
        h.device, ev.code, ev.param
    );
    string(o, alarm_text(ev));
    o.push('}');
}

/// Opens a `greenwave/<device>/events` batch; rows follow with [`batch_row`], then [`batch_end`].
pub fn batch_start(o: &mut String, h: &Header) {
    head(o, h);
    o.push_str(",\"rows\":[");
}

/// One event row of a batch (`first`: no comma before it).
pub fn batch_row(o: &mut String, device: u16, time: &mut TimeBase, ev: &Event, unix_ms: i64, first: bool) {
    if !first {
        o.push(',');
    }
    o.push_str("{\"TimeStamp\":");
    timestamp(o, time, unix_ms);
    let _ = write!(
        o,
        ",\"DeviceId\":{device},\"EventId\":{},\"Parameter\":{}}}",
        ev.code, ev.param
    );
}

/// Closes a batch: `dropped` is the events the loop could not hand to the publisher so far.
pub fn batch_end(o: &mut String, dropped: u64) {
    let _ = write!(o, "],\"events_dropped\":{dropped}}}");
}

/// The publisher's own counters as a status message reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub dropped_oldest: u64,
    pub reconnects: u64,
    pub events_dropped: u64,
}

fn bits(o: &mut String, name: &str, v: u8, first: bool) {
    if !first {
        o.push(',');
    }
    let _ = write!(o, "\"{name}\":{v}");
}

/// `greenwave/<device>/status`: the newest unit status.
pub fn status(o: &mut String, h: &Header, time: &mut TimeBase, s: &UnitStatus, c: &Counters) {
    head(o, h);
    o.push_str(",\"time\":");
    timestamp(o, time, s.unix_ms);
    let _ = write!(o, ",\"unix_ms\":{},\"mode\":", s.unix_ms);
    string(o, s.mode.name());
    o.push_str(",\"plan\":{\"planner\":");
    string(o, s.planner.name());
    o.push_str(",\"mode\":");
    string(o, s.plan_mode);
    let _ = write!(
        o,
        ",\"pattern\":{},\"cycle_ms\":{},\"cycles\":{},\"cycle_timer_s\":",
        s.pattern, s.cycle_ms, s.cycles
    );
    match s.cycle_timer_s {
        Some(t) => {
            let _ = write!(o, "{t}");
        }
        None => o.push_str("null"),
    }
    // NTCIP 1202 phase status groups: bit n-1 = phase n.
    o.push_str("},\"groups\":{");
    let g = &s.groups;
    bits(o, "reds", g.reds, true);
    bits(o, "yellows", g.yellows, false);
    bits(o, "greens", g.greens, false);
    bits(o, "dont_walks", g.dont_walks, false);
    bits(o, "ped_clears", g.ped_clears, false);
    bits(o, "walks", g.walks, false);
    bits(o, "vehicle_calls", g.vehicle_calls, false);
    bits(o, "ped_calls", g.ped_calls, false);
    bits(o, "ons", g.ons, false);
    bits(o, "nexts", g.nexts, false);
    o.push_str("},\"detectors\":[");
    let mut first = true;
    for d in s.detectors.iter().filter(|d| d.number != 0) {
        if !first {
            o.push(',');
        }
        first = false;
        let _ = write!(
            o,
            "{{\"number\":{},\"presence\":{},\"count\":{},\"health\":",
            d.number, d.presence, d.count
        );
        string(o, d.health.name());
        o.push('}');
    }
    o.push_str("],\"preempt\":{");
    let _ = write!(o, "\"inputs\":{},\"active\":", s.preempt_inputs);
    match s.preempt {
        Some((n, dwell)) => {
            let _ = write!(o, "{{\"number\":{n},\"dwell\":{dwell}}}");
        }
        None => o.push_str("null"),
    }
    o.push_str("},\"alarms\":{\"flash\":");
    opt_string(o, s.fault);
    o.push_str(",\"detector_faults\":[");
    let mut first = true;
    for d in s.detectors.iter().filter(|d| d.number != 0 && !d.health.trusted()) {
        if !first {
            o.push(',');
        }
        first = false;
        let _ = write!(o, "{}", d.number);
    }
    let _ = write!(
        o,
        "],\"detection_trusted\":{},\"door_open\":{},\"watchdog_ok\":{}}}",
        s.detection_trusted, s.door_open, s.watchdog_ok
    );
    let _ = write!(
        o,
        ",\"counters\":{{\"status_seq\":{},\"faults_total\":{},\"overruns\":{},\"events_total\":{},\"events_ring_dropped\":{},\"mqtt_events_dropped\":{},\"mqtt_dropped_oldest\":{},\"mqtt_reconnects\":{}}}}}",
        s.seq, s.faults_total, s.overruns, s.events_total, s.events_dropped, c.events_dropped, c.dropped_oldest, c.reconnects
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::central::status::DetectorState;
    use crate::detect::DetectorHealth;
    use crate::events::csv::WallClock;

    fn utc() -> TimeBase {
        TimeBase::from(WallClock { unix_ms_at_zero: 0 })
    }

    #[test]
    fn an_event_batch_has_the_csv_fields() {
        let h = Header {
            device: 7,
            boot: 1,
            seq: 42,
        };
        let mut o = String::new();
        let mut t = utc();
        batch_start(&mut o, &h);
        let ev = Event {
            at: Instant(0),
            code: code::DETECTOR_ON,
            param: 3,
        };
        batch_row(&mut o, 7, &mut t, &ev, 1_700_000_000_123, true);
        batch_row(&mut o, 7, &mut t, &ev, 1_700_000_000_250, false);
        batch_end(&mut o, 0);
        assert_eq!(
            o,
            "{\"device\":7,\"boot\":1,\"seq\":42,\"rows\":[\
             {\"TimeStamp\":\"2023-11-14 22:13:20.1\",\"DeviceId\":7,\"EventId\":82,\"Parameter\":3},\
             {\"TimeStamp\":\"2023-11-14 22:13:20.2\",\"DeviceId\":7,\"EventId\":82,\"Parameter\":3}],\
             \"events_dropped\":0}"
        );
    }

    #[test]
    fn alarms_are_named() {
        let ev = |code, param| Event {
            at: Instant(0),
            code,
            param,
        };
        assert!(is_alarm(&ev(code::DETECTOR_FAULT_SHORTED, 2)));
        assert!(is_alarm(&ev(code::ALARM, 1)));
        assert!(is_alarm(&ev(code::FLASH_STATUS, 1)));
        assert!(!is_alarm(&ev(code::FLASH_STATUS, 0)));
        assert!(!is_alarm(&ev(code::DETECTOR_RESTORED, 2)));
        assert!(!is_alarm(&ev(code::PHASE_BEGIN_GREEN, 2)));
        assert_eq!(alarm_text(&ev(code::ALARM, 1)), "conflicting indications");
        assert_eq!(alarm_text(&ev(code::ALARM, 102)), "state save failed");
        let mut o = String::new();
        let h = Header {
            device: 1,
            boot: 5,
            seq: 9,
        };
        alarm(&mut o, &h, &mut utc(), &ev(code::DETECTOR_FAULT_SHORTED, 2), 0);
        assert_eq!(
            o,
            "{\"device\":1,\"boot\":5,\"seq\":9,\"TimeStamp\":\"1970-01-01 00:00:00.0\",\"unix_ms\":0,\
             \"DeviceId\":1,\"EventId\":87,\"Parameter\":2,\"alarm\":\"detector fault: presence held (shorted loop)\"}"
        );
    }

    #[test]
    fn a_status_is_one_json_object() {
        let mut s = UnitStatus::EMPTY;
        s.seq = 3;
        s.plan_mode = "normal \"x\"";
        s.detectors[1] = DetectorState {
            number: 2,
            presence: true,
            count: 5,
            health: DetectorHealth::StuckOn,
        };
        s.groups.greens = 0b0010_0010;
        let mut o = String::new();
        let h = Header {
            device: 1,
            boot: 5,
            seq: 9,
        };
        status(&mut o, &h, &mut utc(), &s, &Counters::default());
        assert!(o.starts_with("{\"device\":1,\"boot\":5,\"seq\":9,"), "{o}");
        assert!(o.contains("\"greens\":34"), "{o}");
        assert!(o.contains("\"mode\":\"normal \\\"x\\\"\""), "{o}");
        assert!(o.contains("\"detectors\":[{\"number\":2,\"presence\":true,\"count\":5,\"health\":\"stuck-on\"}]"));
        assert!(o.contains("\"detector_faults\":[2]"), "{o}");
        // Balanced braces and brackets outside strings: one well-formed object.
        let (mut depth, mut in_str, mut esc) = (0i32, false, false);
        for c in o.chars() {
            match (in_str, esc, c) {
                (true, true, _) => esc = false,
                (true, false, '\\') => esc = true,
                (true, false, '"') => in_str = false,
                (false, _, '"') => in_str = true,
                (false, _, '{' | '[') => depth += 1,
                (false, _, '}' | ']') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0);
        }
        assert_eq!(depth, 0);
    }
}

//! The objects the agent serves: a fixed, sorted table of OIDs read from one [`UnitStatus`].
//!
//! NTCIP 1202 (Object Definitions for Actuated Signal Controllers) objects live under
//! `asc` = 1.3.6.1.4.1.1206.4.2.1; NTCIP 1201 (Global Object Definitions) `globalTime` under
//! 1.3.6.1.4.1.1206.4.2.6.3; the MIB-II system group (RFC 3418) under 1.3.6.1.2.1.1. Clause
//! numbers below are NTCIP 1202's.
//!
//! Lookups are a scan of `NODES` (a few dozen entries) and of at most 255 row numbers: bounded
//! work, no allocation. GETNEXT takes the first instance after the asked OID in lexicographic
//! order, so a walk visits every instance once and ends after the last one (`endOfMibView`).

use crate::central::status::UnitStatus;
use crate::detect::DetectorHealth;
use crate::limits::{MAX_DETECTORS, MAX_PHASES, MAX_PREEMPTS};

/// Longest OID the agent handles (deeper ones are never objects here; they are compared, not kept).
pub const MAX_OID: usize = 32;

/// An OID in a fixed buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OidBuf {
    arcs: [u32; MAX_OID],
    len: usize,
}

impl OidBuf {
    /// `prefix` then `index`; `None` if longer than [`MAX_OID`].
    pub fn new(prefix: &[u32], index: u32) -> Option<OidBuf> {
        let mut arcs = [0u32; MAX_OID];
        let slot = arcs.get_mut(..prefix.len() + 1)?;
        let (last, head) = slot.split_last_mut()?;
        head.copy_from_slice(prefix);
        *last = index;
        Some(OidBuf {
            arcs,
            len: prefix.len() + 1,
        })
    }

    pub fn as_slice(&self) -> &[u32] {
        self.arcs.get(..self.len).unwrap_or(&[])
    }
}

/// A value as SNMP types it (RFC 2578).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Integer(i32),
    /// OCTET STRING of up to 8 bytes (NTCIP bit-string groups).
    Octets([u8; 8], usize),
    Text(&'a str),
    Oid(&'static [u32]),
    TimeTicks(u32),
    Counter32(u32),
}

/// What identifies the unit in the system group.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    /// `sysDescr`.
    pub descr: String,
    /// `sysName`: the site name.
    pub name: String,
}

/// What one request reads: the newest status, the unit's identity, and the agent's uptime.
pub struct View<'a> {
    pub status: &'a UnitStatus,
    pub ident: &'a Identity,
    /// Hundredths of a second since the agent started (`sysUpTime`).
    pub uptime_cs: u32,
    /// Last value written to `systemPatternControl` (0 when none).
    pub pattern_command: u8,
}

/// Which rows a node has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rows {
    /// A scalar: instance `.0`.
    Scalar,
    /// One row per configured phase, indexed by phase number.
    Phases,
    /// One phase status / control group (phases 1-8: `limits::MAX_PHASES`).
    PhaseGroups,
    /// One row per configured vehicle detector, indexed by detector number.
    Detectors,
    /// Detector status groups of eight detectors each.
    DetectorGroups,
    /// One row per configured preempt, indexed by preempt number.
    Preempts,
}

/// The objects (each name is the MIB's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obj {
    SysDescr,
    SysObjectId,
    SysUpTime,
    SysName,
    MaxPhases,
    PhaseNumber,
    PhaseWalk,
    PhasePedClear,
    PhaseMinGreen,
    PhasePassage,
    PhaseMax1,
    PhaseYellow,
    PhaseRedClear,
    PhaseRing,
    MaxPhaseGroups,
    StatusGroupNumber,
    StatusGroupReds,
    StatusGroupYellows,
    StatusGroupGreens,
    StatusGroupDontWalks,
    StatusGroupPedClears,
    StatusGroupWalks,
    StatusGroupVehCalls,
    StatusGroupPedCalls,
    StatusGroupPhaseOns,
    StatusGroupPhaseNexts,
    ControlGroupNumber,
    ControlGroupPhaseOmit,
    ControlGroupPedOmit,
    ControlGroupHold,
    ControlGroupForceOff,
    ControlGroupVehCall,
    ControlGroupPedCall,
    MaxVehicleDetectors,
    DetectorNumber,
    DetectorAlarms,
    DetectorReportedAlarms,
    MaxDetectorGroups,
    DetectorGroupNumber,
    DetectorGroupActive,
    DetectorGroupAlarms,
    UnitFlashStatus,
    UnitAlarmStatus2,
    UnitAlarmStatus1,
    ShortAlarmStatus,
    CoordPatternStatus,
    LocalFreeStatus,
    CoordCycleStatus,
    SystemPatternControl,
    MaxPreempts,
    PreemptNumber,
    PreemptState,
    GlobalTime,
}

impl Obj {
    /// Whether a SET may change it (with SNMPv3 authPriv only, see `agent`).
    pub const fn writable(self) -> bool {
        matches!(
            self,
            Obj::ControlGroupPhaseOmit
                | Obj::ControlGroupPedOmit
                | Obj::ControlGroupHold
                | Obj::ControlGroupForceOff
                | Obj::ControlGroupVehCall
                | Obj::ControlGroupPedCall
                | Obj::SystemPatternControl
        )
    }
}

struct Node {
    oid: &'static [u32],
    rows: Rows,
    obj: Obj,
}

const fn n(oid: &'static [u32], rows: Rows, obj: Obj) -> Node {
    Node { oid, rows, obj }
}

/// `asc` (NTCIP 1202 clause 2).
pub const ASC: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1];

use Rows::*;

/// Every object, in OID order (checked by a test).
const NODES: &[Node] = &[
    // MIB-II system group (RFC 3418).
    n(&[1, 3, 6, 1, 2, 1, 1, 1], Scalar, Obj::SysDescr),
    n(&[1, 3, 6, 1, 2, 1, 1, 2], Scalar, Obj::SysObjectId),
    n(&[1, 3, 6, 1, 2, 1, 1, 3], Scalar, Obj::SysUpTime),
    n(&[1, 3, 6, 1, 2, 1, 1, 5], Scalar, Obj::SysName),
    // 2.2.1 maxPhases; 2.2.2 phaseTable (phaseEntry columns).
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 1], Scalar, Obj::MaxPhases),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 1], Phases, Obj::PhaseNumber),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 2], Phases, Obj::PhaseWalk),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 3],
        Phases,
        Obj::PhasePedClear,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 4],
        Phases,
        Obj::PhaseMinGreen,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 5],
        Phases,
        Obj::PhasePassage,
    ),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 6], Phases, Obj::PhaseMax1),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 8], Phases, Obj::PhaseYellow),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 9],
        Phases,
        Obj::PhaseRedClear,
    ),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 22], Phases, Obj::PhaseRing),
    // 2.2.3 maxPhaseGroups; 2.2.4 phaseStatusGroupTable.
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 3], Scalar, Obj::MaxPhaseGroups),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 1],
        PhaseGroups,
        Obj::StatusGroupNumber,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 2],
        PhaseGroups,
        Obj::StatusGroupReds,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 3],
        PhaseGroups,
        Obj::StatusGroupYellows,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 4],
        PhaseGroups,
        Obj::StatusGroupGreens,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 5],
        PhaseGroups,
        Obj::StatusGroupDontWalks,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 6],
        PhaseGroups,
        Obj::StatusGroupPedClears,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 7],
        PhaseGroups,
        Obj::StatusGroupWalks,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 8],
        PhaseGroups,
        Obj::StatusGroupVehCalls,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 9],
        PhaseGroups,
        Obj::StatusGroupPedCalls,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 10],
        PhaseGroups,
        Obj::StatusGroupPhaseOns,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 11],
        PhaseGroups,
        Obj::StatusGroupPhaseNexts,
    ),
    // 2.2.5 phaseControlGroupTable.
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 1],
        PhaseGroups,
        Obj::ControlGroupNumber,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 2],
        PhaseGroups,
        Obj::ControlGroupPhaseOmit,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 3],
        PhaseGroups,
        Obj::ControlGroupPedOmit,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 4],
        PhaseGroups,
        Obj::ControlGroupHold,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 5],
        PhaseGroups,
        Obj::ControlGroupForceOff,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 6],
        PhaseGroups,
        Obj::ControlGroupVehCall,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 7],
        PhaseGroups,
        Obj::ControlGroupPedCall,
    ),
    // 2.3.1 maxVehicleDetectors; 2.3.2 vehicleDetectorTable (number, alarms, reported alarms).
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 1],
        Scalar,
        Obj::MaxVehicleDetectors,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 2, 1, 1],
        Detectors,
        Obj::DetectorNumber,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 2, 1, 12],
        Detectors,
        Obj::DetectorAlarms,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 2, 1, 13],
        Detectors,
        Obj::DetectorReportedAlarms,
    ),
    // 2.3.3 maxVehicleDetectorStatusGroups; 2.3.4 vehicleDetectorStatusGroupTable.
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 3], Scalar, Obj::MaxDetectorGroups),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 4, 1, 1],
        DetectorGroups,
        Obj::DetectorGroupNumber,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 4, 1, 2],
        DetectorGroups,
        Obj::DetectorGroupActive,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 2, 4, 1, 3],
        DetectorGroups,
        Obj::DetectorGroupAlarms,
    ),
    // 2.4.6 unitFlashStatus, 2.4.7 unitAlarmStatus2, 2.4.8 unitAlarmStatus1, 2.4.9 shortAlarmStatus.
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 3, 6], Scalar, Obj::UnitFlashStatus),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 3, 7], Scalar, Obj::UnitAlarmStatus2),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 3, 8], Scalar, Obj::UnitAlarmStatus1),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 3, 9], Scalar, Obj::ShortAlarmStatus),
    // 2.5.10 coordPatternStatus, 2.5.11 localFreeStatus, 2.5.12 coordCycleStatus,
    // 2.5.14 systemPatternControl.
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 4, 10],
        Scalar,
        Obj::CoordPatternStatus,
    ),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 4, 11], Scalar, Obj::LocalFreeStatus),
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 4, 12], Scalar, Obj::CoordCycleStatus),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 4, 14],
        Scalar,
        Obj::SystemPatternControl,
    ),
    // 2.7.1 maxPreempts; 2.7.2 preemptTable (number, preemptState).
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 6, 1], Scalar, Obj::MaxPreempts),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 6, 2, 1, 1],
        Preempts,
        Obj::PreemptNumber,
    ),
    n(
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 6, 2, 1, 16],
        Preempts,
        Obj::PreemptState,
    ),
    // NTCIP 1201 globalTimeManagement: globalTime (seconds since 1970-01-01 UTC).
    n(&[1, 3, 6, 1, 4, 1, 1206, 4, 2, 6, 3, 1], Scalar, Obj::GlobalTime),
];

/// `coordPatternStatus` / `systemPatternControl` special values (NTCIP 1202 2.5.10, 2.5.14).
pub const PATTERN_FREE: u8 = 254;
pub const PATTERN_FLASH: u8 = 255;

/// Detector status groups (eight detectors each).
const DETECTOR_GROUPS: u32 = MAX_DETECTORS.div_ceil(8) as u32;

/// The row after `after` (or the first with `None`) of a node.
fn next_row(rows: Rows, s: &UnitStatus, after: Option<u32>) -> Option<u32> {
    let above = |k: u32| after.is_none_or(|a| k > a);
    let min_of = |it: &mut dyn Iterator<Item = u32>| it.filter(|k| *k != 0 && above(*k)).min();
    match rows {
        Scalar => above(0).then_some(0),
        PhaseGroups => above(1).then_some(1),
        DetectorGroups => (1..=DETECTOR_GROUPS).find(|g| above(*g)),
        Phases => min_of(&mut s.phases.iter().map(|p| u32::from(p.number))),
        Detectors => min_of(&mut s.detectors.iter().map(|d| u32::from(d.number))),
        Preempts => min_of(&mut s.preempts.iter().map(|n| u32::from(*n))),
    }
}

fn has_row(rows: Rows, s: &UnitStatus, index: u32) -> bool {
    match rows {
        Scalar => index == 0,
        _ => index != 0 && next_row(rows, s, Some(index - 1)) == Some(index),
    }
}

/// What a GET finds at an OID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The object and its row.
    Instance(Obj, u32),
    /// A known object, but no such row (`noSuchInstance`).
    NoInstance,
    /// No such object here (`noSuchObject`).
    NoObject,
}

/// Looks up `oid` exactly.
pub fn find(s: &UnitStatus, oid: &[u32]) -> Found {
    for node in NODES {
        let Some(rest) = oid.strip_prefix(node.oid) else {
            continue;
        };
        return match rest {
            [index] if has_row(node.rows, s, *index) => Found::Instance(node.obj, *index),
            _ => Found::NoInstance,
        };
    }
    Found::NoObject
}

/// The first instance after `oid` in lexicographic order, if any (GETNEXT).
pub fn next(s: &UnitStatus, oid: &[u32]) -> Option<(OidBuf, Obj, u32)> {
    for node in NODES {
        let after = match oid.strip_prefix(node.oid) {
            // Inside this column: the row after the asked one (a longer OID under row k sorts
            // after row k itself).
            Some([]) => None,
            Some([k, ..]) => Some(*k),
            None if oid < node.oid => None,
            None => continue,
        };
        let Some(row) = next_row(node.rows, s, after) else {
            continue;
        };
        return OidBuf::new(node.oid, row).map(|b| (b, node.obj, row));
    }
    None
}

fn int(v: impl Into<i64>) -> Value<'static> {
    Value::Integer(i32::try_from(v.into()).unwrap_or(i32::MAX))
}

fn octet(b: u8) -> Value<'static> {
    Value::Octets([b, 0, 0, 0, 0, 0, 0, 0], 1)
}

/// `vehicleDetectorAlarms` bits (NTCIP 1202 2.3.2.12): 0 no activity, 1 max presence, 2 erratic
/// output, 7 other.
fn detector_alarms(h: DetectorHealth) -> u8 {
    match h {
        DetectorHealth::Ok | DetectorHealth::Unknown => 0,
        DetectorHealth::StuckOff => 1 << 0,
        DetectorHealth::StuckOn => 1 << 1,
        DetectorHealth::ExcessiveChange => 1 << 2,
        DetectorHealth::Stale => 1 << 7,
    }
}

/// `vehicleDetectorReportedAlarms` bits (2.3.2.13, the loop amplifier's own report): 0 other,
/// 1 watchdog, 2 open loop, 3 shorted loop, 4 excessive change. greenwave infers them from the
/// detector's behaviour, with the same meaning as its Indiana fault events 85-88.
fn detector_reported(h: DetectorHealth) -> u8 {
    match h {
        DetectorHealth::Ok | DetectorHealth::Unknown => 0,
        DetectorHealth::Stale => 1 << 1,
        DetectorHealth::StuckOff => 1 << 2,
        DetectorHealth::StuckOn => 1 << 3,
        DetectorHealth::ExcessiveChange => 1 << 4,
    }
}

/// A coordination pattern (1-253) is in force: not free, not flash.
fn coordinated(s: &UnitStatus) -> bool {
    (1..=253).contains(&s.pattern)
}

fn detector_faulty(h: DetectorHealth) -> bool {
    !matches!(h, DetectorHealth::Ok | DetectorHealth::Unknown)
}

/// `shortAlarmStatus` (2.4.9): 7 critical alarm (a latched fault: the unit is in flash),
/// 6 non-critical alarm (a physical alarm input: the cabinet door), 5 detector fault, 3 local
/// override (not running coordination), 1 T&F flash, 0 preempt.
fn short_alarms(s: &UnitStatus) -> u8 {
    let flash = s.mode == crate::central::status::UnitMode::Flash;
    let mut b = 0u8;
    if s.fault.is_some() {
        b |= 1 << 7;
    }
    if s.door_open {
        b |= 1 << 6;
    }
    if s.detectors.iter().any(|d| d.number != 0 && detector_faulty(d.health)) {
        b |= 1 << 5;
    }
    if !coordinated(s) {
        b |= 1 << 3;
    }
    if flash {
        b |= 1 << 1;
    }
    if s.preempt_inputs != 0 || s.preempt.is_some() {
        b |= 1 << 0;
    }
    b
}

/// `unitAlarmStatus1` (2.4.8): 7 coordination active, 6 local free, 4 MMU flash (the conflict
/// monitor latched flash).
fn unit_alarms1(s: &UnitStatus) -> u8 {
    let mut b = 0u8;
    if coordinated(s) && s.preempt.is_none() && s.mode == crate::central::status::UnitMode::Run {
        b |= 1 << 7;
    }
    if !coordinated(s) {
        b |= 1 << 6;
    }
    if s.mode == crate::central::status::UnitMode::Flash && s.fault.is_some() {
        b |= 1 << 4;
    }
    b
}

/// Reads one instance.
pub fn read<'a>(v: &View<'a>, obj: Obj, index: u32) -> Option<Value<'a>> {
    use crate::central::status::UnitMode;
    let s = v.status;
    let phase = || s.phases.iter().find(|p| p.number != 0 && u32::from(p.number) == index);
    let det = || {
        s.detectors
            .iter()
            .find(|d| d.number != 0 && u32::from(d.number) == index)
    };
    // Detector group `index`: detectors 8(index-1)+1 ..= 8 index, bit 0 = the lowest.
    let det_group = |f: &dyn Fn(&crate::central::status::DetectorState) -> bool| {
        let mut b = 0u8;
        for d in s.detectors.iter().filter(|d| d.number != 0 && f(d)) {
            let k = u32::from(d.number) - 1;
            if k / 8 + 1 == index {
                b |= 1 << (k % 8);
            }
        }
        octet(b)
    };
    let g = &s.groups;
    Some(match obj {
        Obj::SysDescr => Value::Text(v.ident.descr.as_str()),
        Obj::SysObjectId => Value::Oid(ASC),
        Obj::SysUpTime => Value::TimeTicks(v.uptime_cs),
        Obj::SysName => Value::Text(v.ident.name.as_str()),
        Obj::MaxPhases => int(MAX_PHASES as i64),
        Obj::PhaseNumber => int(phase()?.number),
        Obj::PhaseWalk => int(phase()?.walk_s),
        Obj::PhasePedClear => int(phase()?.ped_clear_s),
        Obj::PhaseMinGreen => int(phase()?.min_green_s),
        Obj::PhasePassage => int(phase()?.passage_ds),
        Obj::PhaseMax1 => int(phase()?.max1_s),
        Obj::PhaseYellow => int(phase()?.yellow_ds),
        Obj::PhaseRedClear => int(phase()?.red_clear_ds),
        Obj::PhaseRing => int(phase()?.ring),
        Obj::MaxPhaseGroups => int(1),
        Obj::StatusGroupNumber | Obj::ControlGroupNumber => int(index),
        Obj::StatusGroupReds => int(g.reds),
        Obj::StatusGroupYellows => int(g.yellows),
        Obj::StatusGroupGreens => int(g.greens),
        Obj::StatusGroupDontWalks => int(g.dont_walks),
        Obj::StatusGroupPedClears => int(g.ped_clears),
        Obj::StatusGroupWalks => int(g.walks),
        Obj::StatusGroupVehCalls => int(g.vehicle_calls),
        Obj::StatusGroupPedCalls => int(g.ped_calls),
        Obj::StatusGroupPhaseOns => int(g.ons),
        Obj::StatusGroupPhaseNexts => int(g.nexts),
        Obj::ControlGroupPhaseOmit => int(g.omits),
        Obj::ControlGroupPedOmit => int(g.ped_omits),
        Obj::ControlGroupHold => int(g.holds),
        Obj::ControlGroupForceOff => int(g.force_offs),
        // Calls are momentary here: a SET places locking calls (seen in the status group's
        // vehicle and pedestrian calls), nothing stays set.
        Obj::ControlGroupVehCall | Obj::ControlGroupPedCall => int(0),
        Obj::MaxVehicleDetectors => int(MAX_DETECTORS as i64),
        Obj::DetectorNumber => int(det()?.number),
        Obj::DetectorAlarms => int(detector_alarms(det()?.health)),
        Obj::DetectorReportedAlarms => int(detector_reported(det()?.health)),
        Obj::MaxDetectorGroups => int(DETECTOR_GROUPS),
        Obj::DetectorGroupNumber => int(index),
        Obj::DetectorGroupActive => det_group(&|d| d.presence),
        Obj::DetectorGroupAlarms => det_group(&|d| detector_faulty(d.health)),
        // 2.4.6: notFlash(2), faultMonitor(5).
        Obj::UnitFlashStatus => int(if s.mode == UnitMode::Flash { 5 } else { 2 }),
        // 2.4.7 bit 0: power restart (the unit is in its start-up interval).
        Obj::UnitAlarmStatus2 => int(u8::from(s.mode == UnitMode::Startup)),
        Obj::UnitAlarmStatus1 => int(unit_alarms1(s)),
        Obj::ShortAlarmStatus => octet(short_alarms(s)),
        Obj::CoordPatternStatus => int(match (s.mode, s.pattern) {
            (UnitMode::Flash, _) => PATTERN_FLASH,
            (_, 0) => PATTERN_FREE,
            (_, p) => p,
        }),
        // 2.5.11: notFree(2) while a pattern runs, else coordFree(6) (the unit's programming
        // runs it free).
        Obj::LocalFreeStatus => int(if coordinated(s) { 2 } else { 6 }),
        Obj::CoordCycleStatus => int(s.cycle_timer_s.unwrap_or(0)),
        Obj::SystemPatternControl => int(v.pattern_command),
        Obj::MaxPreempts => int(MAX_PREEMPTS as i64),
        Obj::PreemptNumber => int(index),
        // 2.7.2.16 preemptState: notActive(2), notActiveWithCall(3), entryStarted(4), dwell(6).
        Obj::PreemptState => {
            let bit = index.checked_sub(1).filter(|b| *b < 8).map_or(0u8, |b| 1 << b);
            int(match s.preempt {
                Some((n, true)) if u32::from(n) == index => 6,
                Some((n, false)) if u32::from(n) == index => 4,
                _ if s.preempt_inputs & bit != 0 => 3,
                _ => 2,
            })
        }
        Obj::GlobalTime => Value::Counter32(u32::try_from(s.unix_ms.max(0) / 1000).unwrap_or(u32::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::central::status::{DetectorState, PhaseParams};

    fn status() -> UnitStatus {
        let mut s = UnitStatus::EMPTY;
        for p in [1u8, 2, 4, 6] {
            s.phases[usize::from(p - 1)] = PhaseParams {
                number: p,
                min_green_s: 5,
                ..PhaseParams::default()
            };
        }
        s.detectors[0] = DetectorState {
            number: 1,
            presence: true,
            ..DetectorState::default()
        };
        s.detectors[9] = DetectorState {
            number: 10,
            health: DetectorHealth::StuckOn,
            ..DetectorState::default()
        };
        s.preempts[0] = 1;
        s.groups.greens = 0b0010_0010;
        s
    }

    #[test]
    fn nodes_are_sorted_and_distinct() {
        for w in NODES.windows(2) {
            assert!(w[0].oid < w[1].oid, "{:?} !< {:?}", w[0].oid, w[1].oid);
            assert!(!w[1].oid.starts_with(w[0].oid));
        }
    }

    #[test]
    fn get_finds_instances_and_tells_missing_rows_from_missing_objects() {
        let s = status();
        let min_green = [1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 4];
        let mut oid = min_green.to_vec();
        oid.push(2);
        assert_eq!(find(&s, &oid), Found::Instance(Obj::PhaseMinGreen, 2));
        *oid.last_mut().unwrap() = 3; // phase 3 not configured
        assert_eq!(find(&s, &oid), Found::NoInstance);
        assert_eq!(find(&s, &min_green), Found::NoInstance);
        assert_eq!(
            find(&s, &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 7, 1]),
            Found::NoObject
        );
        assert_eq!(
            find(&s, &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 4, 1]),
            Found::Instance(Obj::StatusGroupGreens, 1)
        );
        assert_eq!(
            find(&s, &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 1, 0, 0]),
            Found::NoInstance
        );
    }

    #[test]
    fn a_walk_visits_every_instance_in_order_and_ends() {
        let s = status();
        let mut at: Vec<u32> = ASC.to_vec();
        let mut seen = Vec::new();
        while let Some((oid, obj, row)) = next(&s, &at) {
            let o = oid.as_slice().to_vec();
            assert!(o > at, "walk went backwards at {o:?}");
            if !o.starts_with(ASC) {
                break;
            }
            seen.push((obj, row));
            at = o;
            assert!(seen.len() < 1000);
        }
        let rows = |obj| {
            seen.iter()
                .filter(|(o, _)| *o == obj)
                .map(|(_, r)| *r)
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(Obj::PhaseMinGreen), [1, 2, 4, 6]);
        assert_eq!(rows(Obj::StatusGroupGreens), [1]);
        assert_eq!(rows(Obj::DetectorAlarms), [1, 10]);
        assert_eq!(rows(Obj::DetectorGroupActive), [1, 2, 3, 4]);
        assert_eq!(rows(Obj::PreemptState), [1]);
        assert_eq!(rows(Obj::MaxPhases), [0]);
        // Past the last object: nothing.
        assert!(next(&s, &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 6, 3, 1, 0]).is_none());
        assert!(next(&s, &[2]).is_none());
        // Before everything: the first object.
        assert_eq!(next(&s, &[1]).map(|(_, o, r)| (o, r)), Some((Obj::SysDescr, 0)));
    }

    #[test]
    fn values_follow_the_status() {
        let s = status();
        let ident = Identity::default();
        let v = View {
            status: &s,
            ident: &ident,
            uptime_cs: 0,
            pattern_command: 0,
        };
        assert_eq!(read(&v, Obj::StatusGroupGreens, 1), Some(Value::Integer(0b0010_0010)));
        assert_eq!(read(&v, Obj::PhaseMinGreen, 2), Some(Value::Integer(5)));
        assert_eq!(read(&v, Obj::DetectorGroupActive, 1), Some(octet(1)));
        assert_eq!(read(&v, Obj::DetectorGroupAlarms, 2), Some(octet(1 << 1)));
        assert_eq!(read(&v, Obj::DetectorReportedAlarms, 10), Some(Value::Integer(1 << 3)));
        assert_eq!(read(&v, Obj::CoordPatternStatus, 0), Some(Value::Integer(254)));
        assert_eq!(read(&v, Obj::ShortAlarmStatus, 0), Some(octet((1 << 5) | (1 << 3))));
    }
}

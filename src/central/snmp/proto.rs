//! One SNMP message in, at most one out: SNMPv2c (RFC 1901, 3416) read-only with a community,
//! SNMPv3 (RFC 3412) with the User-based Security Model (`usm`) for reads and writes.
//!
//! Messages are decoded and encoded with `rasn`/`rasn-snmp` (BER, RFC 3417 transport mapping).
//! Decoding allocates, bounded by the packet (at most [`MAX_PACKET`] octets) and by
//! [`MAX_VARBINDS`] per answer; all of it runs on the agent's own thread, never on the control
//! loop. Nothing here reads a clock or a socket: the agent passes the time in, so the whole path
//! is testable and fuzzable (`fuzz/fuzz_targets/snmp_packet.rs`).
//!
//! - GET / GETNEXT / GETBULK read `mib`; unknown objects answer `noSuchObject`, unknown rows
//!   `noSuchInstance`, a walk past the last object `endOfMibView`.
//! - SET is accepted only from an SNMPv3 user at security level authPriv (SHA-256 authentication,
//!   AES privacy). With SNMPv2c or authNoPriv it answers `authorizationError`; a wrong key fails
//!   authentication and gets a `usmStatsWrongDigests` report. Each accepted SET becomes console
//!   [`Action`]s, applied by the control loop with the console's own rules.

use rasn_snmp::v2::{BulkPdu, Pdu, Pdus, Report, Response, VarBind, VarBindValue};
use rasn_snmp::v2c;
use rasn_snmp::v3::{HeaderData, Message as V3Message, ScopedPdu, ScopedPduData, USMSecurityParameters};

use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_smi::v1::{Counter, TimeTicks};
use rasn_smi::v2::{ApplicationSyntax, ObjectSyntax, SimpleSyntax};

use super::mib::{self, Found, Identity, Obj, Value, View};
use super::usm::{UserKeys, MAC_LEN, SALT_LEN};
use crate::central::status::UnitStatus;
use crate::config::PlannerKind;
use crate::console::view::{Action, PhaseControl, Refused};
use crate::phase::PhaseSet;

/// Largest message accepted or sent (an Ethernet MTU less IPv4 and UDP headers; RFC 3417 asks
/// for at least 484). Larger datagrams are dropped and counted.
pub const MAX_PACKET: usize = 1472;
/// Most variable bindings in one answer (GETBULK stops there).
pub const MAX_VARBINDS: usize = 64;
/// RFC 3414 3.2 7: messages more than this many seconds off the engine time are refused.
const TIME_WINDOW_S: i64 = 150;

const ERR_TOO_BIG: u32 = 1;
const ERR_WRONG_TYPE: u32 = 7;
const ERR_WRONG_VALUE: u32 = 10;
const ERR_NO_CREATION: u32 = 11;
const ERR_INCONSISTENT_VALUE: u32 = 12;
const ERR_RESOURCE_UNAVAILABLE: u32 = 13;
const ERR_COMMIT_FAILED: u32 = 14;
const ERR_AUTHORIZATION: u32 = 16;
const ERR_NOT_WRITABLE: u32 = 17;

/// usmStats counters (RFC 3414 5), sent in reports: 1.3.6.1.6.3.15.1.1.<n>.0.
const USM_UNSUPPORTED_SEC_LEVELS: u32 = 1;
const USM_NOT_IN_TIME_WINDOWS: u32 = 2;
const USM_UNKNOWN_USER_NAMES: u32 = 3;
const USM_UNKNOWN_ENGINE_IDS: u32 = 4;
const USM_WRONG_DIGESTS: u32 = 5;
const USM_DECRYPTION_ERRORS: u32 = 6;

/// What the agent counts (all since start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub received: u64,
    pub answered: u64,
    /// Not BER, not SNMP, or a PDU an agent does not take (responses, traps).
    pub malformed: u64,
    pub oversize: u64,
    pub rate_limited: u64,
    /// SNMPv1 or an unknown version.
    pub bad_version: u64,
    /// v2c with a wrong community, or v2c while no community is configured.
    pub bad_community: u64,
    /// SETs refused for want of authorisation (v2c, or v3 below authPriv).
    pub set_unauthorized: u64,
    pub sets_applied: u64,
    pub sets_refused: u64,
    /// usmStats (RFC 3414 5), indexed by the constants above (0 unused).
    pub usm: [u32; 7],
}

/// Where accepted SETs go: the control loop, through `central::command`.
pub trait Commands {
    /// Applies `actions` in order; on the first one refused, its index and why.
    fn apply(&mut self, actions: &[Action]) -> Result<(), (usize, Refusal)>;
}

/// Why the loop did not apply a SET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Refused(Refused),
    /// The loop did not answer in time, or its queue was full.
    Busy,
}

/// A [`Commands`] that refuses everything (a read-only agent, tests, the fuzzer).
pub struct ReadOnly;

impl Commands for ReadOnly {
    fn apply(&mut self, _: &[Action]) -> Result<(), (usize, Refusal)> {
        Err((0, Refusal::Busy))
    }
}

/// Start-up settings of the protocol engine.
pub struct Settings {
    /// SNMPv2c read-only community; `None` turns v2c off.
    pub community: Option<String>,
    pub users: Vec<UserKeys>,
    /// snmpEngineID (RFC 3411 5).
    pub engine_id: Vec<u8>,
    /// snmpEngineBoots: grows with every start (see `agent`).
    pub boots: u32,
    /// First salt for AES privacy (random at start-up); each message uses the next.
    pub salt: u64,
}

/// The SNMP protocol engine: state kept between messages.
pub struct Protocol {
    settings: Settings,
    /// The next AES salt (RFC 3826 3.1.2.1: a 64-bit counter from a random start).
    salt: core::cell::Cell<u64>,
    pattern_command: u8,
    pub counters: Counters,
}

/// The per-message inputs besides the packet.
pub struct Now<'a> {
    pub status: &'a UnitStatus,
    pub ident: &'a Identity,
    /// Seconds since the agent started: snmpEngineTime, and sysUpTime in hundredths.
    pub engine_time_s: u32,
    pub uptime_cs: u32,
}

fn integer(v: i64) -> Integer {
    Integer::from(v)
}

fn int_of(i: &Integer) -> Option<i64> {
    i64::try_from(i).ok()
}

fn oid(arcs: &[u32]) -> Option<ObjectIdentifier> {
    ObjectIdentifier::new(arcs.to_vec())
}

fn value_of(v: Value<'_>) -> VarBindValue {
    let simple = |s| VarBindValue::Value(ObjectSyntax::Simple(s));
    match v {
        Value::Integer(i) => simple(SimpleSyntax::Integer(integer(i64::from(i)))),
        Value::Octets(b, n) => simple(SimpleSyntax::String(OctetString::from(b.get(..n).unwrap_or(&[])))),
        Value::Text(t) => simple(SimpleSyntax::String(OctetString::from(t.as_bytes()))),
        Value::Oid(o) => match oid(o) {
            Some(o) => simple(SimpleSyntax::ObjectId(o)),
            None => VarBindValue::NoSuchObject,
        },
        Value::TimeTicks(t) => {
            VarBindValue::Value(ObjectSyntax::ApplicationWide(ApplicationSyntax::Ticks(TimeTicks(t))))
        }
        Value::Counter32(c) => {
            VarBindValue::Value(ObjectSyntax::ApplicationWide(ApplicationSyntax::Counter(Counter(c))))
        }
    }
}

fn response(request_id: i32, error_status: u32, error_index: u32, variable_bindings: Vec<VarBind>) -> Pdus {
    Pdus::Response(Response(Pdu {
        request_id,
        error_status,
        error_index,
        variable_bindings,
    }))
}

/// The PDU of a v2c message or v3 scoped PDU, and what kind it is.
enum Op<'a> {
    Get(&'a Pdu),
    GetNext(&'a Pdu),
    Bulk(&'a BulkPdu),
    Set(&'a Pdu),
}

fn op_of(p: &Pdus) -> Option<Op<'_>> {
    match p {
        Pdus::GetRequest(r) => Some(Op::Get(&r.0)),
        Pdus::GetNextRequest(r) => Some(Op::GetNext(&r.0)),
        Pdus::GetBulkRequest(r) => Some(Op::Bulk(&r.0)),
        Pdus::SetRequest(r) => Some(Op::Set(&r.0)),
        _ => None,
    }
}

/// A SET's variable binding, checked and turned into what the loop will do.
enum Write {
    Calls(PhaseSet, bool),
    Control(PhaseControl, PhaseSet),
    Plan(PlannerKind, u8),
    /// A coordination pattern over the schedule (`None`: back to the schedule), and the value.
    Pattern(Option<u8>, u8),
}

impl Protocol {
    pub fn new(settings: Settings) -> Protocol {
        Protocol {
            salt: core::cell::Cell::new(settings.salt),
            settings,
            pattern_command: 0,
            counters: Counters::default(),
        }
    }

    pub fn engine_id(&self) -> &[u8] {
        &self.settings.engine_id
    }

    /// Handles one datagram; the answer to send, if any.
    pub fn handle(&mut self, packet: &[u8], now: &Now<'_>, cmds: &mut dyn Commands) -> Option<Vec<u8>> {
        self.counters.received += 1;
        if packet.len() > MAX_PACKET {
            self.counters.oversize += 1;
            return None;
        }
        // The version is the first element of every SNMP message (RFC 3412 6, RFC 1901).
        let out = match version_of(packet) {
            Some(1) => self.v2c(packet, now),
            Some(3) => self.v3(packet, now, cmds),
            Some(_) => {
                self.counters.bad_version += 1;
                return None;
            }
            None => {
                self.counters.malformed += 1;
                return None;
            }
        };
        if out.is_some() {
            self.counters.answered += 1;
        }
        out
    }

    fn v2c(&mut self, packet: &[u8], now: &Now<'_>) -> Option<Vec<u8>> {
        let Ok(msg) = rasn::ber::decode::<v2c::Message<Pdus>>(packet) else {
            self.counters.malformed += 1;
            return None;
        };
        let ok = self
            .settings
            .community
            .as_deref()
            .is_some_and(|c| !c.is_empty() && c.as_bytes() == &msg.community[..]);
        if !ok {
            // RFC 3584 4.1 / RFC 1901: a wrong community is dropped silently and counted.
            self.counters.bad_community += 1;
            return None;
        }
        let Some(op) = op_of(&msg.data) else {
            self.counters.malformed += 1;
            return None;
        };
        let pdu = self.answer(op, now, None)?;
        let (version, community) = (msg.version, msg.community);
        self.encode_fitting(
            MAX_PACKET,
            |p| {
                rasn::ber::encode(&v2c::Message {
                    version: version.clone(),
                    community: community.clone(),
                    data: p.clone(),
                })
                .ok()
            },
            &pdu,
        )
    }

    /// Encodes `pdu` with `enc`; an answer too big for `limit` loses trailing bindings (GETBULK,
    /// RFC 3416 4.2.3) or, if it has a single one, becomes `tooBig` with none.
    fn encode_fitting(&self, limit: usize, enc: impl Fn(&Pdus) -> Option<Vec<u8>>, pdu: &Pdus) -> Option<Vec<u8>> {
        let bytes = enc(pdu)?;
        if bytes.len() <= limit {
            return Some(bytes);
        }
        let Pdus::Response(Response(p)) = pdu else { return None };
        let mut keep = p.variable_bindings.len();
        // Halve until it fits (at most log2(MAX_VARBINDS) encodings), then answer tooBig.
        while keep > 1 {
            keep /= 2;
            let mut q = p.clone();
            q.variable_bindings.truncate(keep);
            let b = enc(&Pdus::Response(Response(q)))?;
            if b.len() <= limit {
                return Some(b);
            }
        }
        enc(&response(p.request_id, ERR_TOO_BIG, 0, Vec::new()))
    }

    /// The response PDU for `op`. `user`: the SNMPv3 user and whether the message was encrypted
    /// (SETs need both); `None` for v2c.
    fn answer(&mut self, op: Op<'_>, now: &Now<'_>, user: Option<(bool, &mut dyn Commands)>) -> Option<Pdus> {
        let view = View {
            status: now.status,
            ident: now.ident,
            uptime_cs: now.uptime_cs,
            pattern_command: self.pattern_command,
        };
        let s = now.status;
        match op {
            Op::Get(p) => {
                let mut out = Vec::with_capacity(p.variable_bindings.len().min(MAX_VARBINDS));
                for vb in p.variable_bindings.iter().take(MAX_VARBINDS + 1) {
                    let value = match mib::find(s, &vb.name) {
                        Found::Instance(obj, row) => {
                            mib::read(&view, obj, row).map_or(VarBindValue::NoSuchInstance, value_of)
                        }
                        Found::NoInstance => VarBindValue::NoSuchInstance,
                        Found::NoObject => VarBindValue::NoSuchObject,
                    };
                    out.push(VarBind {
                        name: vb.name.clone(),
                        value,
                    });
                }
                if out.len() > MAX_VARBINDS {
                    return Some(response(p.request_id, ERR_TOO_BIG, 0, Vec::new()));
                }
                Some(response(p.request_id, 0, 0, out))
            }
            Op::GetNext(p) => {
                if p.variable_bindings.len() > MAX_VARBINDS {
                    return Some(response(p.request_id, ERR_TOO_BIG, 0, Vec::new()));
                }
                let out = p
                    .variable_bindings
                    .iter()
                    .map(|vb| next_binding(&view, &vb.name))
                    .collect();
                Some(response(p.request_id, 0, 0, out))
            }
            Op::Bulk(b) => {
                let n = b.variable_bindings.len();
                let non_rep = (b.non_repeaters as usize).min(n);
                let mut out: Vec<VarBind> = Vec::new();
                for vb in b.variable_bindings.iter().take(non_rep.min(MAX_VARBINDS)) {
                    out.push(next_binding(&view, &vb.name));
                }
                let reps = &b.variable_bindings[non_rep..];
                let mut last: Vec<ObjectIdentifier> = reps.iter().map(|v| v.name.clone()).collect();
                let rounds = b.max_repetitions as usize;
                'rounds: for _ in 0..rounds {
                    if last.is_empty() {
                        break;
                    }
                    let mut all_end = true;
                    for l in last.iter_mut() {
                        if out.len() >= MAX_VARBINDS {
                            break 'rounds;
                        }
                        let vb = next_binding(&view, l);
                        if vb.value != VarBindValue::EndOfMibView {
                            all_end = false;
                        }
                        *l = vb.name.clone();
                        out.push(vb);
                    }
                    if all_end {
                        break;
                    }
                }
                Some(response(b.request_id, 0, 0, out))
            }
            Op::Set(p) => {
                let Some((true, cmds)) = user else {
                    self.counters.set_unauthorized += 1;
                    return Some(response(p.request_id, ERR_AUTHORIZATION, 0, Vec::new()));
                };
                Some(self.set(p, s, cmds))
            }
        }
    }

    fn set(&mut self, p: &Pdu, s: &UnitStatus, cmds: &mut dyn Commands) -> Pdus {
        let echo = || p.variable_bindings.clone();
        let configured = PhaseSet(
            s.phases
                .iter()
                .filter(|ph| ph.number != 0)
                .fold(0u16, |m, ph| m | (1 << (ph.number - 1))),
        );
        let with_ped = PhaseSet(
            s.phases
                .iter()
                .filter(|ph| ph.number != 0 && (ph.walk_s != 0 || ph.ped_clear_s != 0))
                .fold(0u16, |m, ph| m | (1 << (ph.number - 1))),
        );
        if p.variable_bindings.len() > mib::MAX_OID {
            return response(p.request_id, ERR_TOO_BIG, 0, Vec::new());
        }
        // Check every binding first (RFC 3416 4.2.5): nothing is done unless all are acceptable.
        let mut writes: Vec<Write> = Vec::with_capacity(p.variable_bindings.len());
        for (i, vb) in p.variable_bindings.iter().enumerate() {
            let index = i as u32 + 1;
            let mut fail = |e| {
                self.counters.sets_refused += 1;
                response(p.request_id, e, index, echo())
            };
            let obj = match mib::find(s, &vb.name) {
                Found::Instance(obj, _) if obj.writable() => obj,
                Found::Instance(..) => return fail(ERR_NOT_WRITABLE),
                _ => return fail(ERR_NO_CREATION),
            };
            let VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::Integer(v))) = &vb.value else {
                return fail(ERR_WRONG_TYPE);
            };
            let Some(v) = int_of(v).and_then(|v| u8::try_from(v).ok()) else {
                return fail(ERR_WRONG_VALUE);
            };
            let set = PhaseSet(u16::from(v));
            let w = match obj {
                Obj::SystemPatternControl => match v {
                    // Free: fully actuated, no cycle (NTCIP 1202 2.5.14: 254 = free).
                    mib::PATTERN_FREE => Write::Plan(PlannerKind::Actuated, v),
                    // Standby: no system command, the time-of-day schedule is in force again.
                    0 => Write::Pattern(None, v),
                    // A pattern the site defines (refused by the controller otherwise).
                    1..=253 => Write::Pattern(Some(v), v),
                    // Remote flash is not offered (flash is the conflict monitor's alone).
                    _ => return fail(ERR_WRONG_VALUE),
                },
                _ if !set.difference(configured).is_empty() => return fail(ERR_INCONSISTENT_VALUE),
                Obj::ControlGroupVehCall => Write::Calls(set, false),
                Obj::ControlGroupPedCall if !set.difference(with_ped).is_empty() => {
                    return fail(ERR_INCONSISTENT_VALUE)
                }
                Obj::ControlGroupPedCall => Write::Calls(set, true),
                Obj::ControlGroupPhaseOmit => Write::Control(PhaseControl::Omit, set),
                Obj::ControlGroupPedOmit => Write::Control(PhaseControl::PedOmit, set),
                Obj::ControlGroupHold => Write::Control(PhaseControl::Hold, set),
                Obj::ControlGroupForceOff => Write::Control(PhaseControl::ForceOff, set),
                _ => return fail(ERR_NOT_WRITABLE),
            };
            writes.push(w);
        }
        // The actions, with the binding each came from.
        let mut actions: Vec<(Action, u32)> = Vec::new();
        for (i, w) in writes.iter().enumerate() {
            let index = i as u32 + 1;
            match *w {
                Write::Calls(set, ped) => {
                    for q in set.iter() {
                        actions.push((if ped { Action::PedCall(q) } else { Action::Recall(q) }, index));
                    }
                }
                Write::Control(kind, set) => actions.push((Action::PhaseControl(kind, set), index)),
                Write::Plan(kind, _) => actions.push((Action::SetPlan(kind), index)),
                Write::Pattern(n, _) => actions.push((Action::SelectPattern(n), index)),
            }
        }
        let list: Vec<Action> = actions.iter().map(|(a, _)| *a).collect();
        match cmds.apply(&list) {
            Ok(()) => {
                for w in &writes {
                    if let Write::Plan(_, v) | Write::Pattern(_, v) = w {
                        self.pattern_command = *v;
                    }
                }
                self.counters.sets_applied += 1;
                response(p.request_id, 0, 0, echo())
            }
            Err((k, why)) => {
                self.counters.sets_refused += 1;
                let index = actions.get(k).map_or(0, |(_, i)| *i);
                let e = match why {
                    Refusal::Busy | Refusal::Refused(Refused::NotNow) => ERR_RESOURCE_UNAVAILABLE,
                    Refusal::Refused(_) => ERR_COMMIT_FAILED,
                };
                response(p.request_id, e, index, echo())
            }
        }
    }

    fn v3(&mut self, packet: &[u8], now: &Now<'_>, cmds: &mut dyn Commands) -> Option<Vec<u8>> {
        let Ok(msg) = rasn::ber::decode::<V3Message>(packet) else {
            self.counters.malformed += 1;
            return None;
        };
        let flags = msg.global_data.flags.first().copied().unwrap_or(0);
        let (auth, privacy, reportable) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
        let msg_id = int_of(&msg.global_data.message_id).unwrap_or(-1);
        let max_size = int_of(&msg.global_data.max_size).unwrap_or(0);
        if int_of(&msg.global_data.security_model) != Some(3)
            || !(0..=i64::from(i32::MAX)).contains(&msg_id)
            || max_size < 484
            || (privacy && !auth)
        {
            self.counters.malformed += 1;
            return None;
        }
        let limit = (max_size as usize).min(MAX_PACKET);
        let Ok(usm) = rasn::ber::decode::<USMSecurityParameters>(&msg.security_parameters) else {
            self.counters.malformed += 1;
            return None;
        };
        let report = |this: &mut Self, which: u32, user: Option<&UserKeys>| -> Option<Vec<u8>> {
            this.counters.usm[which as usize] = this.counters.usm[which as usize].wrapping_add(1);
            if !reportable {
                return None;
            }
            this.report(msg_id, limit, which, user, &usm.user_name, now)
        };
        // RFC 3414 3.2 3: discovery (an empty or foreign engine ID) gets our ID, boots and time.
        if usm.authoritative_engine_id[..] != self.settings.engine_id[..] {
            return report(self, USM_UNKNOWN_ENGINE_IDS, None);
        }
        let Some(ui) = self
            .settings
            .users
            .iter()
            .position(|u| u.name.as_bytes() == &usm.user_name[..])
        else {
            return report(self, USM_UNKNOWN_USER_NAMES, None);
        };
        if !auth {
            // Every user here has keys: noAuthNoPriv is below any user's level.
            return report(self, USM_UNSUPPORTED_SEC_LEVELS, None);
        }
        let user = self.settings.users.get(ui)?.clone();
        // RFC 3414 3.2 6: the MAC over the whole message with the authentication parameters zeroed.
        let mac = &usm.authentication_parameters[..];
        if mac.len() != MAC_LEN {
            return report(self, USM_WRONG_DIGESTS, None);
        }
        let Some(at) = find_mac(packet, mac) else {
            self.counters.malformed += 1;
            return None;
        };
        let mut zeroed = packet.to_vec();
        if let Some(slot) = zeroed.get_mut(at..at + MAC_LEN) {
            slot.fill(0);
        }
        if !user.verify(&zeroed, mac) {
            return report(self, USM_WRONG_DIGESTS, None);
        }
        // RFC 3414 3.2 7: the time window.
        let boots = int_of(&usm.authoritative_engine_boots).unwrap_or(-1);
        let time = int_of(&usm.authoritative_engine_time).unwrap_or(-1);
        if boots != i64::from(self.settings.boots) || (time - i64::from(now.engine_time_s)).abs() > TIME_WINDOW_S {
            return report(self, USM_NOT_IN_TIME_WINDOWS, Some(&user));
        }
        let scoped = match (&msg.scoped_data, privacy) {
            (ScopedPduData::CleartextPdu(s), false) => s.clone(),
            (ScopedPduData::EncryptedPdu(data), true) => {
                let Ok(salt) = <[u8; SALT_LEN]>::try_from(&usm.privacy_parameters[..]) else {
                    return report(self, USM_DECRYPTION_ERRORS, Some(&user));
                };
                let mut plain = data.to_vec();
                user.decrypt(boots as u32, time as u32, &salt, &mut plain);
                match rasn::ber::decode::<ScopedPdu>(&plain) {
                    Ok(s) => s,
                    Err(_) => return report(self, USM_DECRYPTION_ERRORS, Some(&user)),
                }
            }
            _ => {
                self.counters.malformed += 1;
                return None;
            }
        };
        let Some(op) = op_of(&scoped.data) else {
            self.counters.malformed += 1;
            return None;
        };
        let pdu = self.answer(op, now, Some((privacy, cmds)))?;
        let name = usm.user_name.clone();
        self.encode_fitting(
            limit,
            |p| {
                self.encoder()
                    .v3_message(msg_id, p.clone(), Some((&user, privacy)), &name, now)
            },
            &pdu,
        )
    }

    /// The v3 encoder's state for one message (the salt advances per encoding).
    fn encoder(&self) -> Encoder<'_> {
        Encoder { p: self }
    }

    /// A report (RFC 3412 7.1 3) carrying usmStats counter `which`. Authenticated with `user`'s
    /// key when given (notInTimeWindow), otherwise sent without authentication.
    fn report(
        &mut self,
        msg_id: i64,
        limit: usize,
        which: u32,
        user: Option<&UserKeys>,
        name: &OctetString,
        now: &Now<'_>,
    ) -> Option<Vec<u8>> {
        let counter = self.counters.usm.get(which as usize).copied().unwrap_or(0);
        let vb = VarBind {
            name: oid(&[1, 3, 6, 1, 6, 3, 15, 1, 1, which, 0])?,
            value: VarBindValue::Value(ObjectSyntax::ApplicationWide(ApplicationSyntax::Counter(Counter(
                counter,
            )))),
        };
        let pdu = Pdus::Report(Report(Pdu {
            request_id: 0,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![vb],
        }));
        let name = if user.is_some() {
            name.clone()
        } else {
            OctetString::from(&[][..])
        };
        let out = self
            .encoder()
            .v3_message(msg_id, pdu, user.map(|u| (u, false)), &name, now)?;
        (out.len() <= limit).then_some(out)
    }
}

struct Encoder<'a> {
    p: &'a Protocol,
}

impl Encoder<'_> {
    /// One SNMPv3 message from this engine: `user` with privacy or not, or unauthenticated.
    fn v3_message(
        &self,
        msg_id: i64,
        pdu: Pdus,
        user: Option<(&UserKeys, bool)>,
        name: &OctetString,
        now: &Now<'_>,
    ) -> Option<Vec<u8>> {
        let s = &self.p.settings;
        let boots = s.boots;
        let time = now.engine_time_s;
        let scoped = ScopedPdu {
            engine_id: OctetString::from(&s.engine_id[..]),
            name: OctetString::from(&[][..]),
            data: pdu,
        };
        let (auth, privacy) = (user.is_some(), user.is_some_and(|(_, p)| p));
        // A fresh salt per encoding (RFC 3826 3.1.2.1: never reused with the same key).
        let salt = self.p.salt.get();
        self.p.salt.set(salt.wrapping_add(1));
        let salt = salt.to_be_bytes();
        let scoped_data = match user {
            Some((u, true)) => {
                let mut plain = rasn::ber::encode(&scoped).ok()?;
                u.encrypt(boots, time, &salt, &mut plain);
                ScopedPduData::EncryptedPdu(OctetString::from(plain))
            }
            _ => ScopedPduData::CleartextPdu(scoped),
        };
        let usm = USMSecurityParameters {
            authoritative_engine_id: OctetString::from(&s.engine_id[..]),
            authoritative_engine_boots: integer(i64::from(boots)),
            authoritative_engine_time: integer(i64::from(time)),
            user_name: name.clone(),
            authentication_parameters: if auth {
                OctetString::from(&[0u8; MAC_LEN][..])
            } else {
                OctetString::from(&[][..])
            },
            privacy_parameters: if privacy {
                OctetString::from(&salt[..])
            } else {
                OctetString::from(&[][..])
            },
        };
        let msg = V3Message {
            version: integer(3),
            global_data: HeaderData {
                message_id: integer(msg_id),
                max_size: integer(MAX_PACKET as i64),
                flags: OctetString::from(&[u8::from(auth) | (u8::from(privacy) << 1)][..]),
                security_model: integer(3),
            },
            security_parameters: OctetString::from(rasn::ber::encode(&usm).ok()?),
            scoped_data,
        };
        let mut bytes = rasn::ber::encode(&msg).ok()?;
        if let Some((u, _)) = user {
            let at = find_mac(&bytes, &[0u8; MAC_LEN])?;
            let mac = u.mac(&bytes);
            bytes.get_mut(at..at + MAC_LEN)?.copy_from_slice(&mac);
        }
        Some(bytes)
    }
}

/// Where the authentication parameters `mac` sit in `packet`: the first OCTET STRING of 24
/// octets with exactly these contents. The USM parameters precede the scoped PDU and the header
/// holds no 26-octet field, so the first match is the field itself.
fn find_mac(packet: &[u8], mac: &[u8]) -> Option<usize> {
    let len = u8::try_from(mac.len()).ok()?;
    packet
        .windows(mac.len() + 2)
        .position(|w| w.first() == Some(&0x04) && w.get(1) == Some(&len) && w.get(2..) == Some(mac))
        .map(|i| i + 2)
}

/// The `version` INTEGER at the start of a message: SEQUENCE, then INTEGER (one octet).
fn version_of(packet: &[u8]) -> Option<i64> {
    let (&tag, rest) = packet.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let rest = match len {
        0..=0x7f => rest,
        0x81 => rest.get(1..)?,
        0x82 => rest.get(2..)?,
        _ => return None,
    };
    match rest {
        [0x02, 0x01, v, ..] => Some(i64::from(*v)),
        _ => None,
    }
}

fn next_binding(view: &View<'_>, after: &ObjectIdentifier) -> VarBind {
    if let Some((o, obj, row)) = mib::next(view.status, after) {
        if let (Some(name), Some(v)) = (oid(o.as_slice()), mib::read(view, obj, row)) {
            return VarBind {
                name,
                value: value_of(v),
            };
        }
    }
    VarBind {
        name: after.clone(),
        value: VarBindValue::EndOfMibView,
    }
}

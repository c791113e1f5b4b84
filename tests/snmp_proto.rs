//! The SNMP message path without a socket (`central::snmp::proto`): requests built with rasn,
//! answers decoded with rasn. GET / GETNEXT / GETBULK over the NTCIP objects, the exceptions
//! (noSuchObject, noSuchInstance, endOfMibView), the v2c community rules, SETs refused without
//! SNMPv3, and what is dropped and counted.

use greenwave::central::snmp::agent::engine_id;
use greenwave::central::snmp::mib::Identity;
use greenwave::central::snmp::proto::{Now, Protocol, ReadOnly, Settings, MAX_PACKET, MAX_VARBINDS};
use greenwave::central::status::{PhaseParams, UnitStatus};
use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_snmp::v2::{
    BulkPdu, GetBulkRequest, GetNextRequest, GetRequest, Pdu, Pdus, SetRequest, VarBind, VarBindValue,
};
use rasn_snmp::v2c;

const GREENS: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 4, 1, 4, 1];
const MIN_GREEN_2: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 4, 2];
const MIN_GREEN_3: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 4, 3];
const VEH_CALL: &[u32] = &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 5, 1, 6, 1];

fn oid(a: &[u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(a.to_vec()).unwrap()
}

fn binds(oids: &[&[u32]]) -> Vec<VarBind> {
    oids.iter()
        .map(|o| VarBind {
            name: oid(o),
            value: VarBindValue::Unspecified,
        })
        .collect()
}

fn pdu(oids: &[&[u32]]) -> Pdu {
    Pdu {
        request_id: 77,
        error_status: 0,
        error_index: 0,
        variable_bindings: binds(oids),
    }
}

fn msg(community: &str, data: Pdus) -> Vec<u8> {
    rasn::ber::encode(&v2c::Message {
        version: Integer::from(1),
        community: OctetString::from(community.as_bytes()),
        data,
    })
    .unwrap()
}

fn status() -> UnitStatus {
    let mut s = UnitStatus::EMPTY;
    for p in [1u8, 2, 4] {
        s.phases[usize::from(p - 1)] = PhaseParams {
            number: p,
            min_green_s: 4 + p as u16,
            ..PhaseParams::default()
        };
    }
    s.groups.greens = 0b10;
    s
}

struct Agent {
    p: Protocol,
    s: UnitStatus,
    ident: Identity,
}

impl Agent {
    fn new(community: Option<&str>) -> Agent {
        Agent {
            p: Protocol::new(Settings {
                community: community.map(str::to_string),
                users: Vec::new(),
                engine_id: engine_id(9),
                boots: 3,
                salt: 1,
            }),
            s: status(),
            ident: Identity {
                descr: "test".into(),
                name: "site".into(),
            },
        }
    }

    fn ask(&mut self, packet: &[u8]) -> Option<Pdu> {
        let now = Now {
            status: &self.s,
            ident: &self.ident,
            engine_time_s: 10,
            uptime_cs: 1000,
        };
        let out = self.p.handle(packet, &now, &mut ReadOnly)?;
        assert!(out.len() <= MAX_PACKET);
        let m: v2c::Message<Pdus> = rasn::ber::decode(&out).unwrap();
        match m.data {
            Pdus::Response(r) => Some(r.0),
            other => panic!("not a response: {other:?}"),
        }
    }
}

fn int(v: &VarBindValue) -> Option<i64> {
    use rasn_smi::v2::{ObjectSyntax, SimpleSyntax};
    match v {
        VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::Integer(i))) => i64::try_from(i).ok(),
        _ => None,
    }
}

#[test]
fn get_answers_values_and_the_two_kinds_of_absence() {
    let mut a = Agent::new(Some("public"));
    let r = a
        .ask(&msg(
            "public",
            Pdus::GetRequest(GetRequest(pdu(&[
                GREENS,
                MIN_GREEN_2,
                MIN_GREEN_3,
                &[1, 3, 6, 1, 4, 1, 9999, 1],
            ]))),
        ))
        .unwrap();
    assert_eq!((r.request_id, r.error_status), (77, 0));
    let v = &r.variable_bindings;
    assert_eq!(int(&v[0].value), Some(2));
    assert_eq!(int(&v[1].value), Some(6));
    assert_eq!(v[2].value, VarBindValue::NoSuchInstance);
    assert_eq!(v[3].value, VarBindValue::NoSuchObject);
}

#[test]
fn getnext_skips_unconfigured_rows_and_ends_with_end_of_mib_view() {
    let mut a = Agent::new(Some("public"));
    let r = a
        .ask(&msg(
            "public",
            Pdus::GetNextRequest(GetNextRequest(pdu(&[MIN_GREEN_2, &[1, 3, 6, 1, 4, 1, 1206, 9]]))),
        ))
        .unwrap();
    assert_eq!(
        &r.variable_bindings[0].name[..],
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 2, 1, 4, 4]
    );
    assert_eq!(int(&r.variable_bindings[0].value), Some(8));
    assert_eq!(r.variable_bindings[1].value, VarBindValue::EndOfMibView);
}

#[test]
fn getbulk_repeats_within_its_bounds() {
    let mut a = Agent::new(Some("public"));
    let bulk = |n, m| {
        msg(
            "public",
            Pdus::GetBulkRequest(GetBulkRequest(BulkPdu {
                request_id: 5,
                non_repeaters: n,
                max_repetitions: m,
                variable_bindings: binds(&[&[1, 3, 6, 1, 2, 1, 1], &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1]]),
            })),
        )
    };
    let r = a.ask(&bulk(1, 5)).unwrap();
    // One non-repeater (sysDescr) then five repetitions of the asc walk.
    assert_eq!(r.variable_bindings.len(), 6);
    assert_eq!(&r.variable_bindings[0].name[..], &[1, 3, 6, 1, 2, 1, 1, 1, 0]);
    assert_eq!(
        &r.variable_bindings[1].name[..],
        &[1, 3, 6, 1, 4, 1, 1206, 4, 2, 1, 1, 1, 0]
    );
    // A huge repetition count stops at the answer's limit.
    let r = a.ask(&bulk(0, 100_000)).unwrap();
    assert!(
        r.variable_bindings.len() <= MAX_VARBINDS,
        "{}",
        r.variable_bindings.len()
    );
    assert!(r.variable_bindings.len() > 8);
}

#[test]
fn the_community_gates_v2c_and_never_allows_a_set() {
    let get = |c| msg(c, Pdus::GetRequest(GetRequest(pdu(&[GREENS]))));
    let mut off = Agent::new(None);
    assert!(
        off.ask(&get("public")).is_none(),
        "v2c answered without a community configured"
    );
    let mut a = Agent::new(Some("public"));
    assert!(a.ask(&get("private")).is_none());
    assert_eq!(a.p.counters.bad_community, 1);
    let set = msg(
        "public",
        Pdus::SetRequest(SetRequest(Pdu {
            request_id: 9,
            error_status: 0,
            error_index: 0,
            variable_bindings: vec![VarBind {
                name: oid(VEH_CALL),
                value: VarBindValue::Value(rasn_smi::v2::ObjectSyntax::Simple(rasn_smi::v2::SimpleSyntax::Integer(
                    Integer::from(2),
                ))),
            }],
        })),
    );
    let r = a.ask(&set).unwrap();
    assert_eq!(r.error_status, 16, "authorizationError");
    assert_eq!(a.p.counters.set_unauthorized, 1);
}

#[test]
fn malformed_and_oversize_datagrams_are_dropped_and_counted() {
    let mut a = Agent::new(Some("public"));
    assert!(a.ask(&[]).is_none());
    assert!(a.ask(&[0x30, 0x03, 0x02, 0x01]).is_none());
    assert!(a.ask(&[0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00]).is_none()); // SNMPv1
    let mut big = msg("public", Pdus::GetRequest(GetRequest(pdu(&[GREENS]))));
    big.resize(MAX_PACKET + 1, 0);
    assert!(a.ask(&big).is_none());
    let c = a.p.counters;
    assert_eq!(
        (c.received, c.malformed, c.bad_version, c.oversize, c.answered),
        (4, 2, 1, 1, 0)
    );
}

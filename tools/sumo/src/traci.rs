//! A TraCI client (SUMO's Traffic Control Interface), written for one message per step.
//!
//! Wire format (SUMO 1.28, API 22; SUMO documentation, "TraCI/Protocol",
//! <https://sumo.dlr.de/docs/TraCI/Protocol.html>): big-endian; a message is an `i32` total length
//! followed by commands; a command is `u8 len, u8 id, payload` or, when longer than 255 bytes,
//! `u8 0, i32 len, u8 id, payload`. Every command is answered by a status
//! (`result` 0 = OK, 1 = not implemented, 0xFF = error, with a description); a GET also by a
//! response `id + 0x10, var, object id, typed value`. Several commands may share one message and
//! their answers come back in order, which is what makes [`Batch`] fast: the bridge sends
//! [set the signal state, read every detector, simulationStep] as one message per step.
//!
//! Errors are values ([`TraciError`]): an error status, a closed socket, a timeout (the socket has
//! read/write timeouts, so a hung SUMO cannot hang the caller) or a malformed reply.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub const CMD_GET_VERSION: u8 = 0x00;
pub const CMD_SIMSTEP: u8 = 0x02;
pub const CMD_CLOSE: u8 = 0x7F;
pub const GET_INDUCTIONLOOP: u8 = 0xA0;
pub const GET_TLS: u8 = 0xA2;
pub const GET_VEHICLE: u8 = 0xA4;
pub const GET_SIM: u8 = 0xAB;
pub const GET_LANEAREA: u8 = 0xAD;
pub const SET_TLS: u8 = 0xC2;
pub const SUB_LANEAREA: u8 = 0xDD;
pub const SUB_VEHICLE: u8 = 0xD4;
pub const SUB_SIM: u8 = 0xDB;

pub const VAR_ID_LIST: u8 = 0x00;
pub const VAR_TLS_STATE: u8 = 0x20;
pub const VAR_LAST_STEP_VEHICLE_NUMBER: u8 = 0x10;
pub const VAR_LAST_STEP_OCCUPANCY: u8 = 0x13;
pub const VAR_LAST_STEP_HALTING: u8 = 0x14;
pub const VAR_JAM_LENGTH_METERS: u8 = 0x19;
pub const VAR_TIME_SINCE_DETECTION: u8 = 0x16;
pub const VAR_LAST_STEP_VEHICLE_IDS: u8 = 0x12;
pub const VAR_TIME: u8 = 0x66;
pub const VAR_MIN_EXPECTED: u8 = 0x7D;
pub const VAR_VEHICLE_CLASS: u8 = 0x49;
pub const VAR_TYPE: u8 = 0x4F;
pub const VAR_POSITION: u8 = 0x42;
pub const VAR_ANGLE: u8 = 0x43;
pub const VAR_LENGTH: u8 = 0x44;
pub const VAR_WIDTH: u8 = 0x4D;
pub const VAR_SPEED: u8 = 0x40;
pub const VAR_DEPARTED_IDS: u8 = 0x74;

pub const TYPE_UBYTE: u8 = 0x07;
pub const TYPE_BYTE: u8 = 0x08;
pub const TYPE_INT: u8 = 0x09;
pub const TYPE_DOUBLE: u8 = 0x0B;
pub const TYPE_STRING: u8 = 0x0C;
pub const TYPE_STRINGLIST: u8 = 0x0E;
pub const TYPE_POSITION2D: u8 = 0x01;
pub const TYPE_COMPOUND: u8 = 0x0F;
pub const TYPE_DOUBLELIST: u8 = 0x10;
pub const TYPE_COLOR: u8 = 0x11;

/// Whole run, for subscriptions.
pub const WHOLE_RUN: f64 = -1_073_741_824.0;

#[derive(Debug)]
pub enum TraciError {
    Io(std::io::Error),
    /// SUMO answered a command with an error status.
    Status {
        cmd: u8,
        result: u8,
        description: String,
    },
    /// The reply does not follow the protocol.
    Protocol(String),
    /// SUMO closed the connection (crashed or exited).
    Closed,
}

impl core::fmt::Display for TraciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TraciError::Io(e)
                if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                write!(f, "SUMO did not answer in time ({e})")
            }
            TraciError::Io(e) => write!(f, "TraCI connection: {e}"),
            TraciError::Status {
                cmd,
                result,
                description,
            } => {
                write!(
                    f,
                    "SUMO refused command 0x{cmd:02x} (status 0x{result:02x}): {description}"
                )
            }
            TraciError::Protocol(m) => write!(f, "malformed TraCI reply: {m}"),
            TraciError::Closed => f.write_str("SUMO closed the connection (it exited or crashed; see its output)"),
        }
    }
}

impl std::error::Error for TraciError {}

impl From<std::io::Error> for TraciError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof || e.kind() == std::io::ErrorKind::ConnectionReset {
            TraciError::Closed
        } else {
            TraciError::Io(e)
        }
    }
}

/// A typed value from a reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i32),
    Double(f64),
    Str(String),
    StrList(Vec<String>),
    Pos(f64, f64),
    UByte(u8),
    Byte(i8),
    Compound(Vec<Value>),
    DoubleList(Vec<f64>),
    Color([u8; 4]),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(f64::from(*i)),
            _ => None,
        }
    }
    pub fn as_i32(&self) -> Option<i32> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Commands of one message.
#[derive(Default, Debug, Clone)]
pub struct Batch {
    body: Vec<u8>,
    /// Per command: its id and whether a GET response follows the status.
    expect: Vec<(u8, bool)>,
}

fn put_string(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as i32).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Appends a command with its length header (short or extended form).
    pub fn command(&mut self, id: u8, payload: &[u8], has_response: bool) -> &mut Self {
        let short = 2 + payload.len();
        if short <= 255 {
            self.body.push(short as u8);
        } else {
            self.body.push(0);
            self.body.extend_from_slice(&((short + 4) as i32).to_be_bytes());
        }
        self.body.push(id);
        self.body.extend_from_slice(payload);
        self.expect.push((id, has_response));
        self
    }

    pub fn get_version(&mut self) -> &mut Self {
        self.command(CMD_GET_VERSION, &[], true)
    }

    /// simulationStep to `target` seconds (0 = one step).
    pub fn step(&mut self, target: f64) -> &mut Self {
        self.command(CMD_SIMSTEP, &target.to_be_bytes(), false)
    }

    pub fn close(&mut self) -> &mut Self {
        self.command(CMD_CLOSE, &[], false)
    }

    /// GET `var` of `obj` in domain `get_id`.
    pub fn get(&mut self, get_id: u8, var: u8, obj: &str) -> &mut Self {
        let mut p = vec![var];
        put_string(&mut p, obj);
        self.command(get_id, &p, true)
    }

    /// SET a string variable (e.g. the TLS state).
    pub fn set_string(&mut self, set_id: u8, var: u8, obj: &str, value: &str) -> &mut Self {
        let mut p = vec![var];
        put_string(&mut p, obj);
        p.push(TYPE_STRING);
        put_string(&mut p, value);
        self.command(set_id, &p, false)
    }

    /// Subscribes `vars` of `obj` in domain `sub_id` for the whole run: SUMO then reports them
    /// after every simulationStep (the object's results end when it leaves the simulation).
    pub fn subscribe(&mut self, sub_id: u8, obj: &str, vars: &[u8]) -> &mut Self {
        let mut p = Vec::with_capacity(24 + obj.len() + vars.len());
        p.extend_from_slice(&WHOLE_RUN.to_be_bytes());
        p.extend_from_slice(&WHOLE_RUN.to_be_bytes());
        put_string(&mut p, obj);
        p.push(vars.len() as u8);
        p.extend_from_slice(vars);
        self.command(sub_id, &p, true)
    }

    /// The whole message: `i32` length + commands.
    pub fn bytes(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(self.body.len() + 4);
        m.extend_from_slice(&((self.body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(&self.body);
        m
    }

    pub fn len(&self) -> usize {
        self.expect.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expect.is_empty()
    }

    pub fn clear(&mut self) {
        self.body.clear();
        self.expect.clear();
    }
}

/// A reader over a reply.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], TraciError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| TraciError::Protocol(format!("need {n} bytes at offset {}", self.pos)))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, TraciError> {
        Ok(self.take(1)?[0])
    }
    pub fn i32(&mut self) -> Result<i32, TraciError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn f64(&mut self) -> Result<f64, TraciError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }
    pub fn string(&mut self) -> Result<String, TraciError> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| TraciError::Protocol(format!("negative string length {n}")))?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| TraciError::Protocol("string is not UTF-8".into()))
    }
    pub fn value(&mut self) -> Result<Value, TraciError> {
        let t = self.u8()?;
        Ok(match t {
            TYPE_INT => Value::Int(self.i32()?),
            TYPE_DOUBLE => Value::Double(self.f64()?),
            TYPE_STRING => Value::Str(self.string()?),
            TYPE_STRINGLIST => {
                let n = self.i32()?.max(0);
                let mut v = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    v.push(self.string()?);
                }
                Value::StrList(v)
            }
            TYPE_POSITION2D => Value::Pos(self.f64()?, self.f64()?),
            TYPE_UBYTE => Value::UByte(self.u8()?),
            TYPE_BYTE => Value::Byte(self.u8()? as i8),
            TYPE_COMPOUND => {
                let n = self.i32()?.max(0);
                let mut v = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    v.push(self.value()?);
                }
                Value::Compound(v)
            }
            TYPE_DOUBLELIST => {
                let n = self.i32()?.max(0);
                let mut v = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    v.push(self.f64()?);
                }
                Value::DoubleList(v)
            }
            TYPE_COLOR => {
                let b = self.take(4)?;
                Value::Color([b[0], b[1], b[2], b[3]])
            }
            other => return Err(TraciError::Protocol(format!("unknown value type 0x{other:02x}"))),
        })
    }

    /// One command frame: (id, payload reader).
    pub fn command(&mut self) -> Result<(u8, Reader<'a>), TraciError> {
        let len = self.u8()?;
        let body_len = if len == 0 {
            let l = self.i32()?;
            usize::try_from(l)
                .ok()
                .and_then(|l| l.checked_sub(5))
                .ok_or_else(|| TraciError::Protocol(format!("bad extended length {l}")))?
        } else {
            (len as usize)
                .checked_sub(1)
                .ok_or_else(|| TraciError::Protocol("zero command length".into()))?
        };
        let body = self.take(body_len)?;
        let (id, rest) = body
            .split_first()
            .ok_or_else(|| TraciError::Protocol("empty command".into()))?;
        Ok((*id, Reader::new(rest)))
    }
}

/// A GET response.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub id: u8,
    pub var: u8,
    pub obj: String,
    pub value: Value,
}

/// A subscription result delivered with simulationStep.
#[derive(Clone, Debug, PartialEq)]
pub struct SubResult {
    pub id: u8,
    pub obj: String,
    pub values: Vec<(u8, Value)>,
}

/// Decodes a whole reply message (without its leading `i32` length) for `batch`.
/// Returns the GET responses in order and the subscription results of a simulationStep.
pub fn decode_reply(batch: &Batch, msg: &[u8]) -> Result<(Vec<Response>, Vec<SubResult>), TraciError> {
    let mut r = Reader::new(msg);
    let mut responses = Vec::new();
    let mut subs = Vec::new();
    // SUMO runs a simulationStep after every other command of the message and answers it last
    // (so GETs in the same message read the state before the step).
    let order = batch
        .expect
        .iter()
        .filter(|(c, _)| *c != CMD_SIMSTEP)
        .chain(batch.expect.iter().filter(|(c, _)| *c == CMD_SIMSTEP));
    for (cmd, has_response) in order {
        let (id, mut st) = r.command()?;
        if id != *cmd {
            return Err(TraciError::Protocol(format!(
                "status for 0x{id:02x}, expected 0x{cmd:02x}"
            )));
        }
        let result = st.u8()?;
        let description = st.string()?;
        if result != 0 {
            return Err(TraciError::Status {
                cmd: *cmd,
                result,
                description,
            });
        }
        if *cmd == CMD_SIMSTEP {
            let n = r.i32()?;
            for _ in 0..n.max(0) {
                subs.push(sub_result(&mut r)?);
            }
        } else if (0xD0..=0xDF).contains(cmd) {
            // A subscription is answered with the current values; the step results follow.
            let s = sub_result(&mut r)?;
            if s.id != cmd.wrapping_add(0x10) {
                return Err(TraciError::Protocol(format!(
                    "subscription result 0x{:02x} to command 0x{cmd:02x}",
                    s.id
                )));
            }
        } else if *has_response {
            let (rid, mut g) = r.command()?;
            if *cmd == CMD_GET_VERSION {
                let api = g.i32()?;
                let name = g.string()?;
                responses.push(Response {
                    id: rid,
                    var: 0,
                    obj: name,
                    value: Value::Int(api),
                });
                continue;
            }
            if rid != cmd.wrapping_add(0x10) {
                return Err(TraciError::Protocol(format!(
                    "response 0x{rid:02x} to command 0x{cmd:02x}"
                )));
            }
            let var = g.u8()?;
            let obj = g.string()?;
            let value = g.value()?;
            responses.push(Response {
                id: rid,
                var,
                obj,
                value,
            });
        }
    }
    if r.remaining() != 0 {
        return Err(TraciError::Protocol(format!(
            "{} unexpected trailing bytes",
            r.remaining()
        )));
    }
    Ok((responses, subs))
}

/// One variable-subscription result: `id, object id, u8 n, n × (var, status, typed value)`.
fn sub_result(r: &mut Reader<'_>) -> Result<SubResult, TraciError> {
    let (sid, mut s) = r.command()?;
    let obj = s.string()?;
    let k = s.u8()?;
    let mut values = Vec::with_capacity(k as usize);
    for _ in 0..k {
        let var = s.u8()?;
        let status = s.u8()?;
        let v = s.value()?;
        if status != 0 {
            return Err(TraciError::Protocol(format!(
                "subscription of {obj} var 0x{var:02x} failed"
            )));
        }
        values.push((var, v));
    }
    Ok(SubResult { id: sid, obj, values })
}

/// A connection to one SUMO.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `port` on localhost, retrying every 10 ms for up to `patience` (SUMO needs
    /// ~25-75 ms to start listening). `alive` is asked between retries so a SUMO that died at
    /// start-up is reported at once instead of after the whole patience.
    pub fn connect(
        port: u16,
        patience: Duration,
        mut alive: impl FnMut() -> Result<(), String>,
    ) -> Result<Client, String> {
        let start = std::time::Instant::now();
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(|e| e.to_string())?;
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .map_err(|e| e.to_string())?;
                    stream
                        .set_write_timeout(Some(Duration::from_secs(30)))
                        .map_err(|e| e.to_string())?;
                    return Ok(Client {
                        stream,
                        buf: Vec::with_capacity(64 * 1024),
                    });
                }
                Err(e) => {
                    alive()?;
                    if start.elapsed() > patience {
                        return Err(format!(
                            "cannot connect to SUMO on port {port} within {patience:?}: {e}"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Sends the batch as one message and decodes the reply.
    pub fn exchange(&mut self, batch: &Batch) -> Result<(Vec<Response>, Vec<SubResult>), TraciError> {
        self.stream.write_all(&batch.bytes())?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let total = i32::from_be_bytes(len);
        let n = usize::try_from(total)
            .ok()
            .and_then(|t| t.checked_sub(4))
            .ok_or_else(|| TraciError::Protocol(format!("message length {total}")))?;
        self.buf.resize(n, 0);
        self.stream.read_exact(&mut self.buf)?;
        decode_reply(batch, &self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex of a captured line from ../shared/sumo/traci_wire_examples.txt.
    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect()
    }

    /// The captured examples, loaded from the shared file when present (CI runs with ../shared
    /// beside the repository), else from the copies below.
    fn example(title: &str) -> (Vec<u8>, Vec<u8>) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/sumo/traci_wire_examples.txt"
        );
        let text = std::fs::read_to_string(path).expect("../shared/sumo/traci_wire_examples.txt beside the repository");
        let mut lines = text.lines().skip_while(|l| !l.starts_with(&format!("## {title}")));
        lines.next().unwrap_or_else(|| panic!("example {title}"));
        let c2s = lines.next().unwrap().trim().strip_prefix("C->S").unwrap();
        let s2c = lines.next().unwrap().trim().strip_prefix("S->C").unwrap();
        (hex(c2s), hex(s2c))
    }

    #[test]
    fn encodes_set_state_like_sumo_expects() {
        let (c2s, s2c) = example("trafficlight.setRedYellowGreenState");
        let mut b = Batch::new();
        b.set_string(SET_TLS, VAR_TLS_STATE, "C", "GGgrrrGGgrrr");
        assert_eq!(b.bytes(), c2s);
        let (resp, subs) = decode_reply(&b, &s2c[4..]).unwrap();
        assert!(resp.is_empty() && subs.is_empty());
    }

    #[test]
    fn encodes_and_decodes_gets() {
        let (c2s, s2c) = example("lanearea.getLastStepVehicleNumber");
        let mut b = Batch::new();
        b.get(GET_LANEAREA, VAR_LAST_STEP_VEHICLE_NUMBER, "e2_N2C_0");
        assert_eq!(b.bytes(), c2s);
        let (resp, _) = decode_reply(&b, &s2c[4..]).unwrap();
        assert_eq!(resp[0].value, Value::Int(6));
        assert_eq!(resp[0].obj, "e2_N2C_0");

        let (c2s, s2c) = example("lanearea.getJamLengthMeters");
        let mut b = Batch::new();
        b.get(GET_LANEAREA, VAR_JAM_LENGTH_METERS, "e2_N2C_0");
        assert_eq!(b.bytes(), c2s);
        let (resp, _) = decode_reply(&b, &s2c[4..]).unwrap();
        assert!((resp[0].value.as_f64().unwrap() - 35.006267515855484).abs() < 1e-12);

        let (c2s, s2c) = example("trafficlight.getRedYellowGreenState");
        let mut b = Batch::new();
        b.get(GET_TLS, VAR_TLS_STATE, "C");
        assert_eq!(b.bytes(), c2s);
        let (resp, _) = decode_reply(&b, &s2c[4..]).unwrap();
        assert_eq!(resp[0].value.as_str(), Some("GGgrrrGGgrrr"));
    }

    #[test]
    fn version_step_close_and_extended_lengths() {
        let (c2s, s2c) = example("getVersion");
        let mut b = Batch::new();
        b.get_version();
        assert_eq!(b.bytes(), c2s);
        let (resp, _) = decode_reply(&b, &s2c[4..]).unwrap();
        assert_eq!(resp[0].value, Value::Int(22));
        assert_eq!(resp[0].obj, "SUMO 1.28.0");

        let (c2s, s2c) = example("simulationStep()  -> None");
        let mut b = Batch::new();
        b.step(0.0);
        assert_eq!(b.bytes(), c2s);
        decode_reply(&b, &s2c[4..]).unwrap();

        // A step reply carrying an E2 subscription result in the extended length form.
        let (_, s2c) = example("simulationStep() with 1 subscription");
        let (_, subs) = decode_reply(&b, &s2c[4..]).unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].obj, "e2_N2C_0");
        assert_eq!(subs[0].values[0], (0x10, Value::Int(6)));

        // A long ID list reply (extended length form).
        let (c2s, s2c) = example("vehicle.getIDList");
        let mut b = Batch::new();
        b.get(GET_VEHICLE, VAR_ID_LIST, "");
        assert_eq!(b.bytes(), c2s);
        let (resp, _) = decode_reply(&b, &s2c[4..]).unwrap();
        match &resp[0].value {
            Value::StrList(v) => {
                assert_eq!(v.len(), 40);
                assert_eq!(v[0], "E_l_0.0");
            }
            other => panic!("{other:?}"),
        }

        let (c2s, s2c) = example("close()");
        let mut b = Batch::new();
        b.close();
        assert_eq!(b.bytes(), c2s);
        decode_reply(&b, &s2c[4..]).unwrap();
    }

    #[test]
    fn subscribes_like_sumo_expects() {
        let (c2s, s2c) = example("lanearea.subscribe");
        let mut b = Batch::new();
        b.subscribe(SUB_LANEAREA, "e2_N2C_0", &[0x10, 0x13, 0x19]);
        assert_eq!(b.bytes(), c2s);
        // The reply's current values are checked and not returned as step results.
        let (resp, subs) = decode_reply(&b, &s2c[4..]).unwrap();
        assert!(resp.is_empty() && subs.is_empty());
        for n in 0..s2c.len() - 4 {
            assert!(decode_reply(&b, &s2c[4..4 + n]).is_err());
        }
    }

    #[test]
    fn batched_message_and_errors() {
        // Three commands in one message; SUMO answers the step last wherever it stands (captured
        // from SUMO 1.28: [step, get] is answered [get, step]).
        let mut b = Batch::new();
        b.set_string(SET_TLS, VAR_TLS_STATE, "C", "GGgrrrGGgrrr");
        b.step(0.0);
        b.get(GET_LANEAREA, VAR_LAST_STEP_VEHICLE_NUMBER, "e2_N2C_0");
        let mut reply = Vec::new();
        reply.extend(&hex("07 c2 00 00 00 00 00"));
        reply.extend(&hex(
            "07 ad 00 00 00 00 00 14 bd 10 00 00 00 08 65 32 5f 4e 32 43 5f 30 09 00 00 00 06",
        ));
        reply.extend(&hex("07 02 00 00 00 00 00 00 00 00 00"));
        let (resp, _) = decode_reply(&b, &reply).unwrap();
        assert_eq!(resp.len(), 1);
        // An error status names the command and carries SUMO's description.
        let mut err = hex("0d c2 ff 00 00 00 06");
        err.extend(b"nope!!");
        let mut b1 = Batch::new();
        b1.set_string(SET_TLS, VAR_TLS_STATE, "C", "G");
        match decode_reply(&b1, &err) {
            Err(TraciError::Status {
                cmd: 0xc2,
                result: 0xff,
                description,
            }) => assert_eq!(description, "nope!!"),
            other => panic!("{other:?}"),
        }
        // Truncated replies are protocol errors, never panics.
        for n in 0..reply.len() {
            assert!(decode_reply(&b, &reply[..n]).is_err());
        }
    }
}

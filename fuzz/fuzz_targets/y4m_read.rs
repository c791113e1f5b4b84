//! Clip fuzzing: arbitrary bytes read as a YUV4MPEG2 camera clip give frames or a reported error,
//! never a panic; a looping reader keeps delivering frames of the size its header declared.
#![no_main]

use greenwave::camera::y4m::{Header, Y4mError, Y4mReader};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    // The camera size the clip declares (when it declares one), and a fixed one it may not match.
    let declared = Header::read(&mut Cursor::new(data)).ok().map(|(h, _)| (h.width, h.height));
    for (w, h) in declared.into_iter().chain([(4, 2)]) {
        for looping in [false, true] {
            let Ok(mut r) = Y4mReader::new(Cursor::new(data), w, h, looping) else { continue };
            assert_eq!((r.header().width, r.header().height), (w, h));
            let mut out = vec![0u8; w as usize * h as usize];
            let mut last = None;
            for _ in 0..8 {
                match r.next_frame(&mut out) {
                    Ok(info) => {
                        assert_eq!(info.index, last.map_or(0, |i| i + 1));
                        last = Some(info.index);
                    }
                    Err(Y4mError::End | Y4mError::Empty) => break,
                    Err(_) => {}
                }
            }
        }
    }
});

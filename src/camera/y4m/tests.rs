use super::*;
use proptest::prelude::*;
use std::io::Cursor;

const RATE: FrameRate = FrameRate { num: 25, den: 1 };

/// A clip of `frames` frames of `w` × `h`; frame k's pixel i is `(i * 3 + k * 17) % 256`.
fn clip(w: u32, h: u32, frames: u64, chroma: Chroma) -> Vec<u8> {
    let mut wr = Y4mWriter::new(Vec::new(), w, h, RATE, chroma).unwrap();
    for k in 0..frames {
        wr.write_frame(&luma(w, h, k)).unwrap();
    }
    wr.into_inner()
}

fn luma(w: u32, h: u32, k: u64) -> Vec<u8> {
    (0..(w * h) as u64).map(|i| ((i * 3 + k * 17) % 256) as u8).collect()
}

fn reader(bytes: &[u8], w: u32, h: u32, looping: bool) -> Result<Y4mReader<Cursor<Vec<u8>>>, Y4mError> {
    Y4mReader::new(Cursor::new(bytes.to_vec()), w, h, looping)
}

fn open_err(bytes: &[u8]) -> Y4mError {
    reader(bytes, 4, 2, false).err().expect("header accepted")
}

#[test]
fn every_colour_space_round_trips_its_luma_then_ends() {
    // Odd sizes: chroma planes round up.
    for chroma in [
        Chroma::C420,
        Chroma::C422,
        Chroma::C444,
        Chroma::C444Alpha,
        Chroma::Mono,
    ] {
        let bytes = clip(5, 3, 3, chroma);
        let mut r = reader(&bytes, 5, 3, false).unwrap();
        assert_eq!(r.header().chroma, chroma);
        assert_eq!(r.frame_rate(), RATE);
        let mut out = [0u8; 15];
        for k in 0..3 {
            let info = r.next_frame(&mut out).unwrap();
            assert_eq!(out.as_slice(), luma(5, 3, k).as_slice(), "{chroma:?} frame {k}");
            assert_eq!((info.index, info.clip_index, info.rewound), (k, k, false));
            assert_eq!(info.pts_ns, k * 40_000_000);
        }
        let before = out;
        assert_eq!(r.next_frame(&mut out), Err(Y4mError::End), "{chroma:?}");
        assert_eq!(r.next_frame(&mut out), Err(Y4mError::End), "{chroma:?}");
        assert_eq!(out, before, "an ended read leaves the buffer alone");
    }
}

#[test]
fn header_variants_from_other_writers_are_read() {
    let frame = [b"FRAME Ixyz\n".as_slice(), &[7u8; 8], &[128u8; 4]].concat();
    for (head, chroma) in [
        (
            "YUV4MPEG2 W4 H2 F30000:1001 It A0:0 C420mpeg2 XYSCSS=420MPEG2\n",
            Chroma::C420,
        ),
        ("YUV4MPEG2 C420paldv W4 H2 F30:1\n", Chroma::C420),
        ("YUV4MPEG2 W4 H2 F30:1 Ip  C420\n", Chroma::C420),
        ("YUV4MPEG2 W4 H2 F30:1\n", Chroma::C420),
    ] {
        let bytes = [head.as_bytes(), &frame].concat();
        let mut r = reader(&bytes, 4, 2, false).unwrap();
        assert_eq!(r.header().chroma, chroma, "{head}");
        let mut out = [0u8; 8];
        r.next_frame(&mut out).unwrap();
        assert_eq!(out, [7; 8], "{head}");
    }
    let r = reader(b"YUV4MPEG2 W4 H2 F30000:1001\n", 4, 2, false).unwrap();
    assert_eq!(r.frame_rate().interval_ns(), 33_366_666);
    assert_eq!(r.frame_rate().pts_ns(30_000), 1_001_000_000_000);
}

#[test]
fn a_looping_reader_rewinds_to_the_first_frame() {
    let bytes = clip(4, 2, 2, Chroma::C420);
    let mut r = reader(&bytes, 4, 2, true).unwrap();
    let mut out = [0u8; 8];
    for n in 0..7u64 {
        let info = r.next_frame(&mut out).unwrap();
        assert_eq!(out.as_slice(), luma(4, 2, n % 2).as_slice(), "read {n}");
        assert_eq!(info.index, n);
        assert_eq!(info.clip_index, n % 2);
        assert_eq!(info.rewound, n > 0 && n % 2 == 0);
        assert_eq!(info.pts_ns, n * 40_000_000, "pacing continues across the rewind");
    }
    // A clip behind some other data (a reader handed a stream mid-way) rewinds to its own start.
    let mut prefixed = b"junk".to_vec();
    prefixed.extend_from_slice(&bytes);
    let mut cur = Cursor::new(prefixed);
    cur.set_position(4);
    let mut r = Y4mReader::new(cur, 4, 2, true).unwrap();
    for n in 0..5 {
        r.next_frame(&mut out).unwrap();
        assert_eq!(out.as_slice(), luma(4, 2, n % 2).as_slice());
    }
}

#[test]
fn an_empty_clip_ends_or_is_refused_when_looping() {
    let bytes = clip(4, 2, 0, Chroma::Mono);
    let mut out = [0u8; 8];
    assert_eq!(
        reader(&bytes, 4, 2, false).unwrap().next_frame(&mut out),
        Err(Y4mError::End)
    );
    assert_eq!(
        reader(&bytes, 4, 2, true).unwrap().next_frame(&mut out),
        Err(Y4mError::Empty)
    );
}

#[test]
fn header_errors_are_reported() {
    assert_eq!(open_err(b""), Y4mError::BadMagic);
    assert_eq!(open_err(b"RIFF\x00\x00WAVEfmt "), Y4mError::BadMagic);
    assert_eq!(open_err(b"YUV4MPEG3 W4 H2 F25:1\n"), Y4mError::BadMagic);
    assert_eq!(open_err(b"YUV4MPEG22 W4 H2 F25:1\n"), Y4mError::BadMagic);
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2"), Y4mError::HeaderTruncated);
    assert_eq!(open_err(b"YUV4M"), Y4mError::HeaderTruncated);
    assert_eq!(open_err(b"YUV4MPEG2 H2 F25:1\n"), Y4mError::Missing('W'));
    assert_eq!(open_err(b"YUV4MPEG2 W4 F25:1\n"), Y4mError::Missing('H'));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2\n"), Y4mError::Missing('F'));
    assert_eq!(open_err(b"YUV4MPEG2\n"), Y4mError::Missing('W'));
    assert_eq!(open_err(b"YUV4MPEG2 W H2 F25:1\n"), Y4mError::BadValue('W'));
    assert_eq!(open_err(b"YUV4MPEG2 W-4 H2 F25:1\n"), Y4mError::BadValue('W'));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H99999999999 F25:1\n"), Y4mError::BadValue('H'));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H4294967296 F25:1\n"), Y4mError::BadValue('H'));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2 F25\n"), Y4mError::BadValue('F'));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2 F25:x\n"), Y4mError::BadValue('F'));
    let rate = |num, den| Y4mError::FrameRate(FrameRate { num, den });
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2 F25:0\n"), rate(25, 0));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2 F0:1\n"), rate(0, 1));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2 F1001:1\n"), rate(1001, 1));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H2 F1:61\n"), rate(1, 61));
    let dims = |width, height| Y4mError::Dimensions { width, height };
    assert_eq!(open_err(b"YUV4MPEG2 W0 H2 F25:1\n"), dims(0, 2));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H0 F25:1\n"), dims(4, 0));
    assert_eq!(open_err(b"YUV4MPEG2 W1921 H2 F25:1\n"), dims(1921, 2));
    assert_eq!(open_err(b"YUV4MPEG2 W4 H1081 F25:1\n"), dims(4, 1081));
    assert_eq!(
        open_err(b"YUV4MPEG2 W4294967295 H4294967295 F25:1\n"),
        dims(u32::MAX, u32::MAX)
    );
    for c in [
        "C420p10",
        "C422p12",
        "C444p16",
        "Cmono16",
        "C411",
        "C",
        "Cyuv",
        "C444alphax",
    ] {
        let h = format!("YUV4MPEG2 W4 H2 F25:1 {c}\n");
        assert_eq!(open_err(h.as_bytes()), Y4mError::Colorspace, "{c}");
    }
    let long = format!("YUV4MPEG2 W4 H2 F25:1 X{}\n", "a".repeat(HEADER_MAX_BYTES));
    assert_eq!(open_err(long.as_bytes()), Y4mError::HeaderTooLong);
    // The longest header accepted: exactly HEADER_MAX_BYTES with its newline.
    let head = "YUV4MPEG2 W4 H2 F25:1 X";
    let fit = format!("{head}{}\n", "a".repeat(HEADER_MAX_BYTES - head.len() - 1));
    assert_eq!(fit.len(), HEADER_MAX_BYTES);
    assert!(reader(fit.as_bytes(), 4, 2, false).is_ok());
    let over = format!("{head}{}\n", "a".repeat(HEADER_MAX_BYTES - head.len()));
    assert_eq!(open_err(over.as_bytes()), Y4mError::HeaderTooLong);
    // Size against the configured camera.
    let bytes = clip(4, 2, 1, Chroma::C420);
    assert_eq!(
        reader(&bytes, 640, 480, false).err(),
        Some(Y4mError::SizeMismatch {
            clip: (4, 2),
            camera: (640, 480)
        })
    );
    let e = Y4mReader::open(Path::new("/nonexistent/clip.y4m"), 4, 2, false).err();
    assert_eq!(e, Some(Y4mError::Io(io::ErrorKind::NotFound)));
    // Every error explains itself.
    assert!(Y4mError::SizeMismatch {
        clip: (4, 2),
        camera: (640, 480)
    }
    .to_string()
    .contains("camera.width"));
}

#[test]
fn frame_errors_are_reported() {
    let head = b"YUV4MPEG2 W4 H2 F25:1 Cmono\n".as_slice();
    let mut out = [0u8; 8];
    let first = |tail: &[u8]| {
        let mut r = reader(&[head, tail].concat(), 4, 2, true).unwrap();
        r.next_frame(&mut [0u8; 8])
    };
    assert_eq!(first(b"FRAMX\n12345678"), Err(Y4mError::BadFrameMarker { frame: 0 }));
    assert_eq!(first(b"FRAMES\n12345678"), Err(Y4mError::BadFrameMarker { frame: 0 }));
    assert_eq!(first(b"\nFRAME\n12345678"), Err(Y4mError::BadFrameMarker { frame: 0 }));
    assert_eq!(first(b"FRA"), Err(Y4mError::Truncated { frame: 0 }));
    assert_eq!(first(b"FRAME"), Err(Y4mError::Truncated { frame: 0 }));
    assert_eq!(first(b"FRAME\n1234567"), Err(Y4mError::Truncated { frame: 0 }));
    let long = [b"FRAME ".as_slice(), &[b'x'; FRAME_HEADER_MAX_BYTES], b"\n12345678"].concat();
    assert_eq!(first(&long), Err(Y4mError::FrameHeaderTooLong { frame: 0 }));
    // A frame line of exactly the limit is read.
    let fit = [b"FRAME ".as_slice(), &[b'x'; FRAME_HEADER_MAX_BYTES - 7], b"\n12345678"].concat();
    assert!(first(&fit).is_ok());
    // The second frame cut short, then a bad marker after a good frame.
    let mut r = reader(&[head, b"FRAME\n12345678FRAME\n12"].concat(), 4, 2, false).unwrap();
    assert_eq!(r.next_frame(&mut out).map(|i| i.clip_index), Ok(0));
    assert_eq!(&out, b"12345678");
    assert_eq!(r.next_frame(&mut out), Err(Y4mError::Truncated { frame: 1 }));
    assert_eq!(&out, b"12345678", "a failed read leaves the buffer alone");
    let mut r = reader(&[head, b"FRAME\n12345678garbage"].concat(), 4, 2, false).unwrap();
    r.next_frame(&mut out).unwrap();
    assert_eq!(r.next_frame(&mut out), Err(Y4mError::BadFrameMarker { frame: 1 }));
    // A 4:2:0 frame cut inside its chroma is truncated, not a short success.
    let bytes = clip(4, 2, 1, Chroma::C420);
    let mut r = reader(&bytes[..bytes.len() - 1], 4, 2, false).unwrap();
    assert_eq!(r.next_frame(&mut out), Err(Y4mError::Truncated { frame: 0 }));
    // The caller's buffer must be one luma plane.
    let mut r = reader(&bytes, 4, 2, false).unwrap();
    assert_eq!(
        r.next_frame(&mut [0u8; 9]),
        Err(Y4mError::OutputSize { expected: 8, got: 9 })
    );
    assert!(r.next_frame(&mut out).is_ok(), "the frame is still there");
}

#[test]
fn a_clip_file_is_read_from_disk() {
    let path = std::env::temp_dir().join(format!("greenwave-y4m-{}.y4m", std::process::id()));
    std::fs::write(&path, clip(6, 4, 2, Chroma::C422)).unwrap();
    let mut r = Y4mReader::open(&path, 6, 4, true);
    let _ = std::fs::remove_file(&path);
    let r = r.as_mut().unwrap();
    let mut out = [0u8; 24];
    for n in 0..4 {
        r.next_frame(&mut out).unwrap();
        assert_eq!(out.as_slice(), luma(6, 4, n % 2).as_slice());
    }
}

#[test]
fn the_writer_refuses_a_frame_of_the_wrong_size() {
    let mut w = Y4mWriter::new(Vec::new(), 4, 2, RATE, Chroma::C420).unwrap();
    assert_eq!(w.write_frame(&[0; 7]).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    w.write_frame(&[0; 8]).unwrap();
    let bytes = w.into_inner();
    assert!(bytes.starts_with(b"YUV4MPEG2 W4 H2 F25:1 Ip A1:1 C420jpeg\nFRAME\n"));
    assert_eq!(bytes.len(), 39 + 6 + 8 + 4);
}

/// Reads up to `frames` frames from whatever `bytes` hold; only errors, never a panic.
fn read_any(bytes: Vec<u8>, looping: bool, frames: usize) {
    let (w, h) = (4, 2);
    if let Ok(mut r) = Y4mReader::new(Cursor::new(bytes), w, h, looping) {
        let mut out = [0u8; 8];
        for _ in 0..frames {
            if r.next_frame(&mut out).is_err() {
                break;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1500), looping in any::<bool>()) {
        read_any(bytes, looping, 4);
    }

    /// Header-shaped input: the magic, then tokens drawn from the header alphabet, then a frame
    /// area of random bytes with FRAME markers sprinkled in, so parsing gets past the magic.
    #[test]
    fn random_headers_and_frames_never_panic(
        tokens in proptest::collection::vec("[WHFCIAX]?[0-9:a-z]{0,12}", 0..8),
        body in proptest::collection::vec(
            prop_oneof![Just(b"FRAME\n".to_vec()), Just(b"FRAME x\n".to_vec()),
                        proptest::collection::vec(any::<u8>(), 0..20)],
            0..8),
        looping in any::<bool>(),
    ) {
        let mut bytes = b"YUV4MPEG2".to_vec();
        for t in &tokens {
            bytes.push(b' ');
            bytes.extend_from_slice(t.as_bytes());
        }
        bytes.push(b'\n');
        let header = bytes.clone();
        bytes.extend(body.concat());
        read_any(bytes, looping, 6);
        // And the same header with a size the camera accepts.
        let mut good = b"YUV4MPEG2 W4 H2 F25:1 ".to_vec();
        good.extend_from_slice(&header[10.min(header.len())..]);
        good.extend(body.concat());
        read_any(good, looping, 6);
    }

    /// A valid clip cut anywhere reads whole frames, then reports an error.
    #[test]
    fn a_clip_cut_anywhere_fails_cleanly(cut in 0usize..200, looping in any::<bool>()) {
        let bytes = clip(4, 2, 5, Chroma::C420);
        let cut = cut.min(bytes.len());
        if let Ok(mut r) = reader(&bytes[..cut], 4, 2, looping) {
            let mut out = [0u8; 8];
            for n in 0..12u64 {
                match r.next_frame(&mut out) {
                    Ok(i) => prop_assert_eq!(out.to_vec(), luma(4, 2, i.clip_index)),
                    Err(e) => {
                        prop_assert!(matches!(e, Y4mError::Truncated { .. } | Y4mError::End | Y4mError::Empty),
                            "read {}: {:?}", n, e);
                        break;
                    }
                }
            }
        }
    }
}

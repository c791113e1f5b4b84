//! Damaged state files are evidence: each one is kept under its own number (`FILE.corrupt.1`, `.2`,
//! …), never overwritten by a later one, and only the newest `CORRUPT_KEEP` are kept so a failing
//! medium cannot fill the partition with them.

use greenwave::events::persist::{Counters, LoadOutcome, Store, CORRUPT_KEEP};

#[test]
fn damaged_copies_are_numbered_never_overwritten_and_bounded() {
    let d = std::env::temp_dir().join(format!("gw-persist-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let mut s: Store<Counters> = Store::new(&d).unwrap();
    let damaged = |n: usize| format!("damaged copy number {n}").into_bytes();
    let total = CORRUPT_KEEP + 3;
    for n in 1..=total {
        std::fs::write(s.path(), damaged(n)).unwrap();
        let (v, outcome) = s.load();
        assert_eq!(v, Counters::default());
        assert!(matches!(outcome, LoadOutcome::Damaged(_)), "{outcome:?}");
        let kept = d.join(format!("counters.bin.corrupt.{n}"));
        assert_eq!(s.kept_corrupt(), Some(kept.as_path()));
        assert!(!s.path().exists(), "the damaged file was left in place");
    }
    for n in 1..=total {
        let p = d.join(format!("counters.bin.corrupt.{n}"));
        if n <= total - CORRUPT_KEEP {
            assert!(!p.exists(), "{} should have been deleted", p.display());
        } else {
            assert_eq!(
                std::fs::read(&p).unwrap(),
                damaged(n),
                "{} was overwritten",
                p.display()
            );
        }
    }
    // A good save and load in between does not reuse a number.
    s.save(&Counters::default()).unwrap();
    assert_eq!(s.load().1, LoadOutcome::Loaded);
    std::fs::write(s.path(), b"junk").unwrap();
    let _ = s.load();
    assert_eq!(
        std::fs::read(d.join(format!("counters.bin.corrupt.{}", total + 1))).unwrap(),
        b"junk"
    );
    let _ = std::fs::remove_dir_all(&d);
}

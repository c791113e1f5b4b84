//! The `[snmp]` board table through `greenwave check`: a secrets file readable by others is
//! warned about, a private one is not, and a secrets file with a short password is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn check(board: &Path) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(["check", "--site"])
        .arg(root.join("board/sites/nema8-4leg.toml"))
        .arg("--board")
        .arg(board)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn check_warns_about_a_readable_secrets_file_and_refuses_a_weak_one() {
    let dir = std::env::temp_dir().join(format!("gw-snmp-cfg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("snmp-users.toml");
    std::fs::write(
        &users,
        "[[user]]\nname = \"tmc\"\nauth_password = \"long enough 1\"\npriv_password = \"long enough 2\"\n",
    )
    .unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let base = std::fs::read_to_string(root.join("board/host-fake.toml")).unwrap();
    let board = dir.join("board.toml");
    std::fs::write(
        &board,
        format!(
            "{base}\n[snmp]\nlisten = \"127.0.0.1:1161\"\nusers = \"{}\"\n",
            users.display()
        ),
    )
    .unwrap();

    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, out) = check(&board);
    assert!(ok, "{out}");
    assert!(out.contains("warning:") && out.contains("chmod 600"), "{out}");

    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, out) = check(&board);
    assert!(ok && !out.contains("warning:"), "{out}");

    std::fs::write(
        &users,
        "[[user]]\nname = \"tmc\"\nauth_password = \"short\"\npriv_password = \"long enough 2\"\n",
    )
    .unwrap();
    let (ok, out) = check(&board);
    assert!(!ok && out.contains("auth_password"), "{out}");

    std::fs::write(&board, format!("{base}\n[snmp]\nlisten = \"somewhere\"\n")).unwrap();
    let (ok, out) = check(&board);
    assert!(!ok && out.contains("snmp.listen"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

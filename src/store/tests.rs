use super::*;
use crate::address::Addr;
use std::os::unix::fs::PermissionsExt;

fn env() -> Envelope {
    Envelope::new(
        Addr::parse("a@x.example").unwrap(),
        [Addr::parse("b@y.example").unwrap()],
    )
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn store_writes_a_private_pair_in_a_private_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a/b");
    let mut dir = MessageDir::open(&path).unwrap();
    let eml = dir
        .store("m", b"Bcc: c@z.example\r\n\r\nx\r\n", Some(&env()))
        .unwrap();
    assert_eq!(eml, path.join("m.eml"));
    assert_eq!(names(&path), ["m.eml", "m.envelope.json"]);
    assert_eq!(
        std::fs::read(&eml).unwrap(),
        b"Bcc: c@z.example\r\n\r\nx\r\n"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("m.envelope.json")).unwrap(),
        format!("{}\n", env().to_json())
    );
    assert_eq!(mode(&eml), 0o600);
    assert_eq!(mode(&path.join("m.envelope.json")), 0o600);
    // Every directory created on the way is private, not only the last.
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&tmp.path().join("a")), 0o700);
}

#[test]
fn store_without_an_envelope_writes_only_the_message() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = MessageDir::open(tmp.path()).unwrap();
    dir.store("raw", b"To: b\n\nraw\n", None).unwrap();
    assert_eq!(names(tmp.path()), ["raw.eml"]);
}

/// A batch replaces files of the same names with private ones, and an existing directory keeps
/// its mode.
#[test]
fn write_replaces_files_and_leaves_an_existing_directory_alone() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(tmp.path().join("d.eml"), "old, world-readable").unwrap();
    std::fs::set_permissions(
        tmp.path().join("d.eml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut dir = MessageDir::open(tmp.path()).unwrap();
    dir.write("d", b"a longer first version", &env()).unwrap();
    dir.write("d", b"second", &env()).unwrap();
    dir.sync().unwrap();
    assert_eq!(std::fs::read(tmp.path().join("d.eml")).unwrap(), b"second");
    assert_eq!(mode(&tmp.path().join("d.eml")), 0o600);
    assert_eq!(mode(tmp.path()), 0o755);
    assert_eq!(names(tmp.path()), ["d.eml", "d.envelope.json"]);
}

/// A temporary file left by a writer that died is not trusted: it is replaced, and the result
/// is private whatever its mode was.
#[test]
fn a_stale_temporary_file_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let stale = tmp
        .path()
        .join(format!(".s.eml.{}.tmp", std::process::id()));
    std::fs::write(&stale, "stale").unwrap();
    std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut dir = MessageDir::open(tmp.path()).unwrap();
    dir.store("s", b"fresh", None).unwrap();
    assert_eq!(std::fs::read(tmp.path().join("s.eml")).unwrap(), b"fresh");
    assert_eq!(mode(&tmp.path().join("s.eml")), 0o600);
    assert_eq!(names(tmp.path()), ["s.eml"]);
}

/// A failed write names the final file and leaves nothing: no temporary file, and no message
/// without its envelope.
#[test]
fn a_failed_write_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken.eml")).unwrap();
    std::fs::create_dir(tmp.path().join("half.envelope.json")).unwrap();
    let mut dir = MessageDir::open(tmp.path()).unwrap();
    let e = dir.write("taken", b"x", &env()).unwrap_err();
    assert_eq!(e.path, tmp.path().join("taken.eml"));
    let want = format!("cannot write {}: ", tmp.path().join("taken.eml").display());
    assert!(e.to_string().starts_with(&want), "{e}");
    let e = dir.store("half", b"x", Some(&env())).unwrap_err();
    assert_eq!(e.path, tmp.path().join("half.envelope.json"));
    assert!(dir.write("sub/dir", b"x", &env()).is_err());
    assert!(dir.write("nul\0inside", b"x", &env()).is_err());
    assert_eq!(names(tmp.path()), ["half.envelope.json", "taken.eml"]);
}

#[test]
fn open_names_a_path_that_is_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let e = MessageDir::open(&file).unwrap_err();
    assert_eq!(e.path, file);
}

#[test]
fn mbox_records_quote_from_lines_and_end_with_a_blank_line() {
    let r = mbox_record(
        "a@x.example",
        "Thu Nov 29 04:46:28 2026",
        b"Subject: s\n\nFrom here\n>From there\nFrom: not at start\nlast",
    );
    assert_eq!(
        String::from_utf8(r).unwrap(),
        "From a@x.example Thu Nov 29 04:46:28 2026\nSubject: s\n\n>From here\n>>From there\nFrom: not at start\nlast\n\n"
    );
    let r = mbox_record("", "D", b"x\r\n");
    assert_eq!(r, b"From MAILER-DAEMON D\nx\r\n\n");
}

#[test]
fn append_mbox_appends_privately() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dead.letter");
    append_mbox(&p, "a@x.example", "D1", b"one\n").unwrap();
    append_mbox(&p, "a@x.example", "D2", b"two\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "From a@x.example D1\none\n\nFrom a@x.example D2\ntwo\n\n"
    );
    assert_eq!(mode(&p), 0o600);
}

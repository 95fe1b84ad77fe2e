use super::*;
use crate::relay::FileRelay;
use crate::{Addr, Envelope};

fn env(to: &str) -> Envelope {
    Envelope::new(
        Addr::parse("a@x.example").unwrap(),
        [Addr::parse(to).unwrap()],
    )
}

/// A relay whose answers are scripted (fault injection): each submit takes the next one.
struct Scripted {
    answers: Vec<Result<(), RelayError>>,
    got: Vec<(Envelope, Vec<u8>)>,
}

impl Relay for Scripted {
    fn submit(&mut self, e: &Envelope, m: &[u8]) -> Result<Delivery, RelayError> {
        self.got.push((e.clone(), m.to_vec()));
        self.answers.remove(0).map(|()| Delivery::all(e))
    }
}

fn scripted(answers: Vec<Result<(), RelayError>>) -> Scripted {
    Scripted {
        answers,
        got: Vec::new(),
    }
}

#[test]
fn enqueue_stores_exact_bytes_envelope_and_a_separate_state() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    let msg = b"Subject: x\r\n\r\nbody\r\n";
    let q = ob.enqueue(msg, &env("b@y.example"), None).unwrap();
    assert_eq!(std::fs::read(&q.path).unwrap(), msg);
    let json = std::fs::read_to_string(ob.dir().join(format!("{}.envelope.json", q.id))).unwrap();
    assert_eq!(json, format!("{}\n", env("b@y.example").to_json()));
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ob.dir().join(format!("{}.state.json", q.id))).unwrap(),
    )
    .unwrap();
    assert_eq!(state["attempts"], 0);
    assert_eq!(state["queued_at"], state["next_attempt"]);
    let listed = ob.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].envelope.as_ref(), Some(&env("b@y.example")));
    assert_eq!(ob.message(&q.id).unwrap(), msg);
}

#[test]
fn flush_sends_due_messages_and_empties_the_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    ob.enqueue(b"one\r\n", &env("b@y.example"), Some("421 later"))
        .unwrap();
    ob.enqueue(b"two\r\n", &env("c@y.example"), None).unwrap();
    let mut relay = FileRelay::new(tmp.path().join("spool"));
    let r = ob.flush(&mut relay, false).unwrap();
    assert_eq!(r.sent.len(), 2);
    assert_eq!(r.remaining, 0);
    assert!(ob.list().unwrap().is_empty());
    let spooled = std::fs::read_dir(tmp.path().join("spool")).unwrap().count();
    assert_eq!(spooled, 4, "two .eml + two .envelope.json");
    // Nothing left behind in the queue directory but failed/ (never created here).
    assert_eq!(std::fs::read_dir(ob.dir()).unwrap().count(), 0);
}

#[test]
fn a_temporary_failure_reschedules_with_backoff_and_stops_the_flush() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    let a = ob.enqueue(b"one\r\n", &env("b@y.example"), None).unwrap();
    ob.enqueue(b"two\r\n", &env("c@y.example"), None).unwrap();
    let mut relay = scripted(vec![Err(RelayError::new(
        ErrorKind::Transient,
        "connection refused",
    ))]);
    let r = ob.flush(&mut relay, false).unwrap();
    assert_eq!(
        relay.got.len(),
        1,
        "the flush stops after the relay is down"
    );
    assert!(r.stopped.is_some());
    assert_eq!(r.remaining, 2);
    let e = ob
        .list()
        .unwrap()
        .into_iter()
        .find(|e| e.id == a.id)
        .unwrap();
    assert_eq!(e.state.attempts, 1);
    assert_eq!(e.state.last_error.as_deref(), Some("connection refused"));
    assert!(e.state.next_attempt >= unix_time() + MIN_BACKOFF.as_secs() - 2);
    assert_eq!(ob.due().unwrap().len(), 1, "only the one not tried");
    // Not due: a plain flush leaves it; --all tries it.
    let mut relay = scripted(vec![Ok(())]);
    ob.flush(&mut relay, false).unwrap();
    assert_eq!(relay.got.len(), 1, "only the other, due, message");
    let mut relay = scripted(vec![Ok(())]);
    let r = ob.flush(&mut relay, true).unwrap();
    assert_eq!(relay.got[0].1, b"one\r\n");
    assert_eq!(r.remaining, 0);
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    assert_eq!(backoff(1), MIN_BACKOFF);
    assert_eq!(backoff(2), MIN_BACKOFF * 2);
    assert_eq!(backoff(3), MIN_BACKOFF * 4);
    assert_eq!(backoff(30), MAX_BACKOFF);
}

#[test]
fn a_5xx_moves_to_failed_with_the_reason_and_retry_puts_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    let q = ob.enqueue(b"one\r\n", &env("b@y.example"), None).unwrap();
    let mut relay = scripted(vec![Err(RelayError::new(
        ErrorKind::Permanent,
        "550 no such user",
    ))]);
    let r = ob.flush(&mut relay, false).unwrap();
    assert_eq!(
        r.failed,
        [(q.id.clone(), "refused: 550 no such user".into())]
    );
    assert_eq!(r.remaining, 0);
    let failed = ob.list_failed().unwrap();
    assert_eq!(failed[0].id, q.id);
    assert_eq!(
        failed[0].state.last_error.as_deref(),
        Some("refused: 550 no such user")
    );
    assert_eq!(std::fs::read(&failed[0].path).unwrap(), b"one\r\n");
    let back = ob.retry(&q.id).unwrap();
    assert_eq!(back.state.attempts, 0);
    assert!(ob.list_failed().unwrap().is_empty());
    assert_eq!(ob.list().unwrap()[0].id, q.id);
    ob.remove(&q.id).unwrap();
    assert!(ob.list().unwrap().is_empty());
    assert!(matches!(
        ob.remove(&q.id),
        Err(OutboxError::NotFound { .. })
    ));
    assert!(matches!(
        ob.message("../x"),
        Err(OutboxError::NotFound { .. })
    ));
}

#[test]
fn a_message_older_than_the_lifetime_goes_to_failed_unsent() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q")).with_lifetime(Duration::from_secs(0));
    let q = ob
        .enqueue(b"one\r\n", &env("b@y.example"), Some("421 busy"))
        .unwrap();
    // Make it a little old.
    let mut s = ob.list().unwrap()[0].state.clone();
    s.queued_at -= 10;
    std::fs::write(ob.dir().join(format!("{}.state.json", q.id)), s.to_json()).unwrap();
    let mut relay = scripted(vec![]);
    let r = ob.flush(&mut relay, true).unwrap();
    assert!(relay.got.is_empty());
    assert_eq!(r.failed.len(), 1);
    assert!(
        r.failed[0].1.contains("last error: 421 busy"),
        "{:?}",
        r.failed
    );
    assert_eq!(ob.list_failed().unwrap()[0].id, q.id);
}

#[test]
fn a_message_locked_by_another_flush_is_left_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    let q = ob.enqueue(b"one\r\n", &env("b@y.example"), None).unwrap();
    let held = Locked::take(ob.dir(), &q.id, true).unwrap().unwrap();
    let mut relay = scripted(vec![]);
    let r = ob.flush(&mut relay, true).unwrap();
    assert_eq!(r.busy, vec![q.id.clone()]);
    assert!(relay.got.is_empty());
    assert!(matches!(ob.remove(&q.id), Err(OutboxError::Busy { .. })));
    // The holder sends it and removes it; a lock taken on the old file afterwards is refused.
    let stale = File::open(&q.path).unwrap();
    drop_files(ob.dir(), &q.id).unwrap();
    drop(held);
    stale.try_lock().unwrap();
    assert!(Locked::take(ob.dir(), &q.id, true).unwrap().is_none());
}

#[test]
fn unwritable_outbox_is_a_write_error_naming_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let ob = Outbox::new(file.join("q"));
    let e = ob.enqueue(b"x\r\n", &env("b@y.example"), None).unwrap_err();
    assert!(matches!(e, OutboxError::Write(_)));
    assert!(e.to_string().contains("not-a-dir"), "{e}");
}

#[test]
fn a_writer_killed_half_way_leaves_nothing_that_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    // Killed after the state and the message, before the envelope: not queued.
    let mut dir = MessageDir::open(ob.dir()).unwrap();
    dir.store_file(
        "half.state.json",
        State::parse(b"{\"queued_at\":1,\"attempts\":0,\"next_attempt\":1,\"last_error\":null}")
            .unwrap()
            .to_json()
            .as_bytes(),
    )
    .unwrap();
    dir.store("half", b"x\r\n", None).unwrap();
    assert!(ob.list().unwrap().is_empty());
    let mut relay = scripted(vec![]);
    assert_eq!(ob.flush(&mut relay, true).unwrap().remaining, 0);
    assert!(relay.got.is_empty());
}

#[test]
fn a_move_killed_half_way_leaves_the_message_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    let q = ob.enqueue(b"one\r\n", &env("b@y.example"), None).unwrap();
    // What move_message has done before its removals: the files linked into failed/.
    let failed = ob.failed_dir();
    std::fs::create_dir(&failed).unwrap();
    for name in [format!("{}.eml", q.id), format!("{}.envelope.json", q.id)] {
        std::fs::hard_link(ob.dir().join(&name), failed.join(&name)).unwrap();
    }
    assert_eq!(ob.list().unwrap().len(), 1, "still queued");
    let mut relay = scripted(vec![Err(RelayError::new(ErrorKind::Permanent, "550 no"))]);
    let r = ob.flush(&mut relay, true).unwrap();
    assert_eq!(
        r.failed.len(),
        1,
        "the move is done again, over the half-made one"
    );
    assert!(ob.list().unwrap().is_empty());
    assert_eq!(ob.list_failed().unwrap().len(), 1);
    assert_eq!(
        std::fs::read(failed.join(format!("{}.eml", q.id))).unwrap(),
        b"one\r\n"
    );
}

/// Where a submission the relay did not take ends up, for each kind of failure: the rule that
/// `envoi send` follows, in one place.
#[test]
fn keep_unsent_queues_temporary_failures_fails_refusals_and_leaves_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let ob = Outbox::new(tmp.path().join("q"));
    let e = |k| RelayError::new(k, "why");
    let keep = |why| ob.keep_unsent(b"m\r\n", &env("b@y.example"), why).unwrap();
    let queued = |d: &Disposition| matches!(d, Disposition::Queued(_));
    let failed = |d: &Disposition| matches!(d, Disposition::Failed(_));
    let left = |d: &Disposition| matches!(d, Disposition::Left);

    let transient = e(ErrorKind::Transient);
    let permanent = e(ErrorKind::Permanent);
    assert!(queued(&keep(NotAccepted::Failed(&transient))));
    assert!(failed(&keep(NotAccepted::Failed(&permanent))));
    assert!(queued(&keep(NotAccepted::NotTried(None))));
    assert!(queued(&keep(NotAccepted::NotTried(Some(&transient)))));
    // A refusal that ended the session refused only its own message: the others stay drafts.
    assert!(left(&keep(NotAccepted::NotTried(Some(&permanent)))));
    let others = [ErrorKind::Auth, ErrorKind::Config, ErrorKind::Io].map(e);
    for err in &others {
        assert!(left(&keep(NotAccepted::Failed(err))), "{err:?}");
        assert!(left(&keep(NotAccepted::NotTried(Some(err)))), "{err:?}");
    }
    assert_eq!(ob.list().unwrap().len(), 3);
    assert_eq!(ob.list_failed().unwrap().len(), 1);
    let failed_entry = &ob.list_failed().unwrap()[0];
    assert_eq!(
        failed_entry.state.last_error.as_deref(),
        Some("refused: why")
    );
}

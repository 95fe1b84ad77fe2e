//! In-process compose throughput (issue 2, "Benchmarks"): a typical 3 KB draft, and a 50 MB
//! draft with LF and with CRLF line endings. Throughput is reported in draft bytes per second;
//! the target is at least 1 GB/s on one core for both sizes.
//!
//! Run with `cargo bench --bench compose`. Peak memory of the CLI on the 50 MB draft is measured
//! separately by `benches/memory.sh`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use envoi::{Composer, FixedClock, HashIds, Options};
use std::hint::black_box;
use std::time::Duration;

/// About 3 KB: several To/Cc recipients (display names, a group, a quoted name with a comma),
/// a Bcc, a few ordinary fields, a folded Subject and a 2.5 KB body of ordinary prose.
fn typical_draft() -> Vec<u8> {
    let mut d = String::new();
    d.push_str("From: Ann Example <ann@example.org>\n");
    d.push_str("To: Bob Builder <bob@example.net>, \"Doe, Carol\" <carol@example.com>,\n");
    d.push_str(" dave@sub.example.net, Team: erin@example.org, frank@example.org;\n");
    d.push_str("Cc: Grace <grace@example.com>, heidi@example.net (Heidi at work)\n");
    d.push_str("Bcc: Ivan <ivan@example.org>, judy@example.com\n");
    d.push_str(
        "Subject: Quarterly planning notes and the agenda for the\n meeting next Thursday\n",
    );
    d.push_str("In-Reply-To: <1234.5678@mail.example.org>\n");
    d.push_str("References: <1111.2222@mail.example.org> <1234.5678@mail.example.org>\n");
    d.push_str("MIME-Version: 1.0\n");
    d.push_str("Content-Type: text/plain; charset=utf-8\n");
    d.push_str("Content-Transfer-Encoding: 8bit\n");
    d.push('\n');
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n";
    while d.len() < 3072 {
        d.push_str(line);
    }
    d.into_bytes()
}

/// `size` bytes: a short header, then 76-character lines (the length a mail client wraps at).
fn big_draft(size: usize, eol: &str) -> Vec<u8> {
    let mut d = format!(
        "From: ann@example.org{eol}To: bob@example.net, carol@example.com{eol}\
         Bcc: ivan@example.org{eol}Subject: big{eol}{eol}"
    )
    .into_bytes();
    let mut n = 0u64;
    while d.len() + 80 < size {
        let text = format!(
            "{n:010} The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnop"
        );
        d.extend_from_slice(&text.as_bytes()[..76]);
        d.extend_from_slice(eol.as_bytes());
        n += 1;
    }
    d
}

fn composers() -> [(&'static str, Composer); 2] {
    [
        (
            "default",
            Composer::new(Options::default()).expect("default options are valid"),
        ),
        (
            "fixed-hash",
            Composer::new(Options::default())
                .expect("default options are valid")
                .with_clock(FixedClock::utc(1_800_000_000))
                .with_ids(HashIds),
        ),
    ]
}

fn typical(c: &mut Criterion) {
    let draft = typical_draft();
    let mut g = c.benchmark_group("compose_3k");
    g.throughput(Throughput::Bytes(draft.len() as u64));
    for (name, composer) in composers() {
        composer
            .compose(&draft)
            .expect("the typical draft composes");
        // Compose, then append the exact bytes (CRLF conversion included, since the body is
        // converted as it is written) to a reused buffer, as the CLI does per file.
        let mut out = Vec::with_capacity(2 * draft.len());
        g.bench_function(BenchmarkId::new(name, draft.len()), |b| {
            b.iter(|| {
                let composed = composer.compose(black_box(&draft)).expect("composes");
                out.clear();
                composed.push_message(0, &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn big(c: &mut Criterion) {
    const SIZE: usize = 50 * 1024 * 1024;
    let mut g = c.benchmark_group("compose_50m");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    for (eol_name, eol) in [("lf", "\n"), ("crlf", "\r\n")] {
        let draft = big_draft(SIZE, eol);
        g.throughput(Throughput::Bytes(draft.len() as u64));
        for (name, composer) in composers() {
            // Compose and write the whole message to a sink: the body's CRLF conversion happens
            // while writing, in 64 KiB chunks, so it must be inside the timing.
            g.bench_function(BenchmarkId::new(name, eol_name), |b| {
                b.iter(|| {
                    let composed = composer.compose(black_box(&draft)).expect("composes");
                    composed
                        .write_message(0, &mut std::io::sink())
                        .expect("writes");
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, typical, big);
criterion_main!(benches);

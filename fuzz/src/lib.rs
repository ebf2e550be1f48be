//! What every fuzz target shares: which panics count as crashes.

use std::collections::HashSet;
use std::panic::PanicHookInfo;
use std::sync::Mutex;

/// Replaces libFuzzer's panic hook, which aborts on every panic, even one that is caught.
///
/// The XLSX and DOCX parsers run calamine, zip and quick-xml inside `catch_unwind`, so a
/// panic in that third-party code becomes an error for the file, never a crash of the server.
/// Such a panic is printed once per place (`dependency panic (unwinding): …`, which
/// scripts/fuzz.sh counts) and left to unwind. A panic anywhere else — hoithi's own code or
/// the standard library — aborts at once, with its backtrace: libFuzzer reports a crash. So
/// does a dependency's panic that no parser catches, when it unwinds out of the target.
pub fn count_caught_dependency_panics() {
    // The first take removes libFuzzer's hook; the second takes std's default one back.
    drop(std::panic::take_hook());
    let print = std::panic::take_hook();
    let seen = Mutex::new(HashSet::new());
    std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        let Some(place) = info.location().filter(|l| in_dependency(l.file())) else {
            print(info);
            std::process::abort();
        };
        let place = format!("{}:{}", place.file(), place.line());
        if seen.lock().is_ok_and(|mut seen| seen.insert(place.clone())) {
            let message = info.payload_as_str().unwrap_or("(no message)");
            eprintln!("dependency panic (unwinding): {place}: {message}");
        }
    }));
}

/// A source file of a crate from the registry (or a git dependency), not of hoithi or std.
fn in_dependency(file: &str) -> bool {
    file.contains("/registry/src/") || file.contains("/git/checkouts/")
}

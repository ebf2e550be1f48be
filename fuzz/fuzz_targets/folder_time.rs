#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use hoithi::contests::folder::{parse_offset, resolve_time};
use libfuzzer_sys::fuzz_target;

// `opens_at` / `closes_at` of a contest folder's round: an RFC 3339 time or an offset such
// as `+7d12h`, resolved against the contest's creation time.
fuzz_target!(init: hoithi_fuzz::count_caught_dependency_panics(), |data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let offset = parse_offset(raw);
    // `+X` and `-X` are the same length of time, in opposite directions.
    if let Some(rest) = raw.trim().strip_prefix('+') {
        assert_eq!(parse_offset(&format!("-{rest}")), offset.map(|d| -d));
    }
    // A plausible anchor, and the two ends of chrono's range where any offset overflows.
    let anchors = [
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).single(),
        Some(DateTime::<Utc>::MIN_UTC),
        Some(DateTime::<Utc>::MAX_UTC),
    ];
    for anchor in anchors.into_iter().flatten() {
        let _ = resolve_time(raw, anchor);
    }
});

#![no_main]

use hoithi::questions::formats::Format;
use hoithi::questions::import;
use libfuzzer_sys::fuzz_target;

// An uploaded question file: parse and validate it as the import endpoint does.
fuzz_target!(init: hoithi_fuzz::count_caught_dependency_panics(), |data: &[u8]| {
    let _ = import::check(Format::Gift, data);
});

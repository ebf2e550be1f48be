#![no_main]

use std::collections::HashMap;

use hoithi::units::import;
use libfuzzer_sys::fuzz_target;

// An uploaded units CSV: parse it, then check the tree as the import does (here against an
// empty stored tree, so every parent must come from the file itself).
fuzz_target!(init: hoithi_fuzz::count_caught_dependency_panics(), |data: &[u8]| {
    if let Ok(rows) = import::parse(data) {
        let _ = import::check_tree(&rows, &HashMap::new());
    }
});

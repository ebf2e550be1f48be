#![no_main]

use std::io::{Cursor, Write};
use std::sync::OnceLock;

use hoithi::questions::formats::Format;
use hoithi::questions::import;
use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;

/// The parts of the workbook the fuzzer's bytes replace.
const SHEET: &str = "xl/worksheets/sheet1.xml";
const STRINGS: &str = "xl/sharedStrings.xml";

/// A workbook exported by hoithi (workbook, styles, shared strings…), read once.
fn template() -> &'static [(String, Vec<u8>)] {
    static PARTS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    PARTS.get_or_init(|| {
        let xlsx = include_bytes!("../seeds/question_xlsx/export.xlsx");
        let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(&xlsx[..])) else {
            return Vec::new();
        };
        (0..archive.len())
            .filter_map(|i| {
                let mut file = archive.by_index(i).ok()?;
                let name = file.name().ok()?.into_owned();
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut bytes).ok()?;
                Some((name, bytes))
            })
            .collect()
    })
}

// The first sheet of an .xlsx. Mutating a whole .xlsx mostly breaks the zip's checksums, so
// here the fuzzer writes the sheet's XML (and, after a NUL byte, the shared strings') and the
// target puts it in a real workbook: the bytes reach calamine's readers and hoithi's cells.
fuzz_target!(init: hoithi_fuzz::count_caught_dependency_panics(), |data: &[u8]| {
    let (sheet, strings) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], data.get(nul + 1..)),
        None => (data, None),
    };
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let parts = template()
        .iter()
        .filter(|(name, _)| name != SHEET && (strings.is_none() || name != STRINGS))
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .chain([(SHEET, sheet)])
        .chain(strings.map(|s| (STRINGS, s)));
    for (name, bytes) in parts {
        if zip.start_file(name, stored).is_err() || zip.write_all(bytes).is_err() {
            return;
        }
    }
    let Ok(xlsx) = zip.finish() else {
        return;
    };
    let _ = import::check(Format::Xlsx, xlsx.get_ref());
});

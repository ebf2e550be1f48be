#![no_main]

use std::io::{Cursor, Write};

use hoithi::questions::formats::Format;
use hoithi::questions::import;
use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;

// A .docx's word/document.xml. Mutating a whole .docx mostly breaks the zip's checksums, so
// here the fuzzer writes the XML and the target zips it: the bytes reach the XML reader.
fuzz_target!(init: hoithi_fuzz::count_caught_dependency_panics(), |data: &[u8]| {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if zip.start_file("word/document.xml", stored).is_err() || zip.write_all(data).is_err() {
        return;
    }
    let Ok(docx) = zip.finish() else {
        return;
    };
    let _ = import::check(Format::Docx, docx.get_ref());
});

//! Signed-note parsing: never panics; what parses re-serializes to the same bytes.
#![no_main]
use gatelog_core::note::Note;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(Note::parse(&note.to_bytes()), Ok(note));
    }
});

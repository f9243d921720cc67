//! Event parsing and validation: never panics; valid events serialize to
//! JSON that parses back to the same event.
#![no_main]
use gatelog_core::event::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = Event::parse(data) {
        let json = event.to_json().expect("a parsed event is valid");
        assert_eq!(Event::parse(&json).expect("re-parses"), event);
        let _ = event.references();
    }
});

//! Policy file parsing (`gatelog verify --policy`): never panics, and the
//! policy it yields answers for any package name.
#![no_main]
use gatelog_client::policy_file::PolicyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((policy, _keys)) = PolicyFile::parse("policy.toml", text) {
        for name in ["left-pad", "@acme/widget", "@acme/", "*", ""] {
            let _ = policy.skips(name);
            let _ = policy.requires_staging(name);
        }
    }
});

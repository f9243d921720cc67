//! Tells the crate which curve25519-dalek backend the build selected, as
//! curve25519-dalek's own build script decides it: the
//! `curve25519_dalek_backend` cfg when RUSTFLAGS sets one, otherwise `simd`
//! on 64-bit x86_64 and `serial` elsewhere; and whether rustc is a nightly
//! (curve25519-dalek's AVX-512 IFMA code is compiled only then).

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let width = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").unwrap_or_default();
    let backend = match std::env::var("CARGO_CFG_CURVE25519_DALEK_BACKEND").as_deref() {
        Ok(forced @ ("serial" | "fiat" | "simd")) => forced.to_string(),
        _ if arch == "x86_64" && width == "64" => "simd".to_string(),
        _ => "serial".to_string(),
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let nightly = version.contains("nightly") || version.contains("-dev");
    println!("cargo:rustc-env=GATELOG_DALEK_BACKEND_CFG={backend}");
    println!(
        "cargo:rustc-env=GATELOG_RUSTC_NIGHTLY={}",
        u8::from(nightly)
    );
    println!("cargo:rustc-env=GATELOG_RUSTC_VERSION={}", version.trim());
    println!("cargo:rerun-if-changed=build.rs");
}

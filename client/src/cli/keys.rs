//! Keys and approval statements: `keygen`, `approve-statement`,
//! `sign-approval`.

use super::*;

/// `gatelog approve-statement`.
pub(super) fn approve_statement(a: StatementArgs) -> Result<Exit, Failure> {
    print!("{}", statement(&a)?);
    Ok(Exit::Ok)
}

/// `gatelog sign-approval`.
pub(super) fn sign_approval(a: StatementArgs, device_key_file: PathBuf) -> Result<Exit, Failure> {
    let key = read_key_file(&device_key_file)?;
    let sig = gatelog_core::event::sign_approval(key.signing_key(), &statement(&a)?);
    println!("{}", STANDARD.encode(sig.to_bytes()));
    Ok(Exit::Ok)
}

/// `gatelog keygen`.
pub(super) fn keygen(name: String, role: KeyRole) -> Result<Exit, Failure> {
    let key = keygen::generate(&name, role).map_err(usage)?;
    println!("{}", key.to_private_text());
    println!("{}", key.verifier());
    Ok(Exit::Ok)
}

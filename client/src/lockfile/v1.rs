//! Version 1 (and the fallback of version 2): the tree of nested
//! `dependencies` objects.

use serde_json::Value;

use super::{Ctx, LockedPackage, LockfileError, Obj, Source, kind, quote, source};

/// Every package of the top-level `dependencies` tree, depth first.
pub(super) fn parse(
    ctx: &Ctx,
    dependencies: Option<&Value>,
) -> Result<Vec<LockedPackage>, LockfileError> {
    let mut out = Vec::new();
    if let Some(dependencies) = dependencies {
        walk(ctx, dependencies, "dependencies", "", &mut out)?;
    }
    Ok(out)
}

/// Adds the packages of one `dependencies` object (at field path `at`,
/// below the dependency chain `parent`) and of the objects nested in it.
/// The depth is bounded by serde_json's recursion limit.
fn walk(
    ctx: &Ctx,
    dependencies: &Value,
    at: &str,
    parent: &str,
    out: &mut Vec<LockedPackage>,
) -> Result<(), LockfileError> {
    let Value::Object(map) = dependencies else {
        return Err(ctx.shape(
            at,
            format!("expected an object, found {}", kind(dependencies)),
        ));
    };
    for (key, entry) in map {
        let obj = Obj::new(ctx, entry, format!("{at}[{}]", quote(key)))?;
        if key.is_empty() {
            return Err(ctx.shape(obj.at.clone(), "empty dependency name"));
        }
        let location = if parent.is_empty() {
            key.clone()
        } else {
            format!("{parent} > {key}")
        };
        let Some(spec) = obj.string("version")? else {
            return Err(ctx.shape(obj.field("version"), "missing"));
        };
        let (name, version) = if spec.starts_with("npm:") {
            source::alias(spec)
                .ok_or_else(|| ctx.shape(obj.field("version"), "alias is not `npm:name@version`"))?
        } else {
            (key.as_str(), spec)
        };
        let (integrity, integrity_raw) = obj.integrity()?;
        let source = if obj.flag("bundled")? {
            Source::Bundled
        } else {
            source::classify(name, Some(version), obj.string("resolved")?)
                .map_err(|m| ctx.shape(obj.at.clone(), m))?
        };
        out.push(LockedPackage {
            location: location.clone(),
            name: name.to_owned(),
            version: Some(version.to_owned()),
            integrity,
            integrity_raw,
            source,
            dev: obj.flag("dev")?,
            optional: obj.flag("optional")?,
            dev_optional: false,
            peer: false,
            direct: false,
            yarn_checksum: None,
        });
        if let Some(children) = obj.map.get("dependencies") {
            walk(ctx, children, &obj.field("dependencies"), &location, out)?;
        }
    }
    Ok(())
}

//! Versions 2 and 3: the `packages` map, keyed by install location.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::source::{self, Place};
use super::{Ctx, LockedPackage, LockfileError, Obj, Source, kind, quote};

/// Every entry of `packages` but the root project (`""`).
pub(super) fn parse(ctx: &Ctx, packages: &Value) -> Result<Vec<LockedPackage>, LockfileError> {
    let Value::Object(map) = packages else {
        return Err(ctx.shape(
            "packages",
            format!("expected an object, found {}", kind(packages)),
        ));
    };
    map.iter()
        .filter(|(location, _)| !location.is_empty())
        .map(|(location, entry)| package(ctx, location, entry))
        .collect()
}

fn package(ctx: &Ctx, location: &str, entry: &Value) -> Result<LockedPackage, LockfileError> {
    let obj = Obj::new(ctx, entry, format!("packages[{}]", quote(location)))?;
    let version = obj.string("version")?;
    let resolved = obj.string("resolved")?;
    let (integrity, integrity_raw) = obj.integrity()?;
    let link = obj.flag("link")?;
    let in_bundle = obj.flag("inBundle")?;
    let place = source::place(location).map_err(|m| ctx.shape(obj.at.clone(), m))?;
    let name = match (obj.string("name")?, &place) {
        (Some(""), _) => return Err(ctx.shape(obj.field("name"), "is empty")),
        (Some(name), _) => name,
        (None, Place::NodeModules(name) | Place::Folder(Some(name))) => *name,
        (None, Place::Folder(None)) => {
            return Err(ctx.shape(obj.at.clone(), "has no package name"));
        }
    };
    let source = if link {
        Source::Link
    } else if in_bundle {
        Source::Bundled
    } else if let Place::Folder(_) = place {
        // A workspace or another link target: the files are local.
        Source::Directory(location.to_owned())
    } else {
        source::classify(name, version, resolved).map_err(|m| ctx.shape(obj.at.clone(), m))?
    };
    Ok(LockedPackage {
        location: location.to_owned(),
        name: name.to_owned(),
        version: version.map(str::to_owned),
        integrity,
        integrity_raw,
        source,
        dev: obj.flag("dev")?,
        optional: obj.flag("optional")?,
        dev_optional: obj.flag("devOptional")?,
        peer: obj.flag("peer")?,
        direct: false,
        yarn_checksum: None,
    })
}

/// The dependency maps of a `package.json` (or of its copy in a lockfile).
const DEPENDENCY_MAPS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Marks the entries the root project or a workspace declares: the root's
/// (`""`) and every folder entry's dependency names, found at the top of
/// `node_modules` or under the workspace's own `node_modules`, and the
/// folder entries themselves (workspaces and `file:` folders).
pub(super) fn mark_direct(all: &Map<String, Value>, packages: &mut [LockedPackage]) {
    let mut direct: BTreeSet<String> = BTreeSet::new();
    for (location, entry) in all {
        if location.contains("node_modules") {
            continue;
        }
        for map in DEPENDENCY_MAPS {
            if let Some(Value::Object(deps)) = entry.get(map) {
                for name in deps.keys() {
                    direct.insert(format!("node_modules/{name}"));
                    if !location.is_empty() {
                        direct.insert(format!("{location}/node_modules/{name}"));
                    }
                }
            }
        }
    }
    for p in packages {
        // Folder entries and links (workspaces, `file:` folders) are there
        // because a package.json of the project names them.
        p.direct = direct.contains(&p.location)
            || !p.location.contains("node_modules")
            || p.source == Source::Link;
    }
}

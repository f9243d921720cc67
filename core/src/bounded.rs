//! JSON read with its limits applied while parsing, not after: a JSON
//! array longer than its limit is counted to its end without keeping its
//! items, and objects must be JSON objects (serde's derived structs would
//! also take arrays). So a request body never costs more than its bytes
//! before it is refused. The log's request bodies ([`crate::wire`], the
//! batch of envelopes) are read with these.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON array of which at most `MAX` items are kept.
pub struct Bounded<T, const MAX: usize> {
    /// The first `MAX` items.
    pub items: Vec<T>,
    /// How many items the array held in all.
    pub count: usize,
}

impl<T, const MAX: usize> Bounded<T, MAX> {
    /// Whether the array held more than `MAX` items.
    pub fn over(&self) -> bool {
        self.count > MAX
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Bounded<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for Items<T, MAX> {
            type Value = Bounded<T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX).min(64));
                let mut count = 0;
                while count < MAX {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Ok(Bounded { items, count }),
                    }
                    count += 1;
                }
                // Past the limit: count the rest, keep nothing.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(Bounded { items, count })
            }
        }
        d.deserialize_seq(Items::<T, MAX>(PhantomData))
    }
}

/// A `T` that must be written as a JSON object.
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(Object(PhantomData))
    }
}

impl<T> ObjectOnly<T> {
    /// The object.
    pub fn into_inner(self) -> T {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    #[test]
    fn keeps_at_most_max_and_counts_the_rest() {
        let b: Bounded<u32, 3> = serde_json::from_str("[1,2,3,4,5]").unwrap();
        assert_eq!(b.items, vec![1, 2, 3]);
        assert_eq!(b.count, 5);
        assert!(b.over());
        let b: Bounded<&RawValue, 3> = serde_json::from_str(r#"[{"a":1}, [2]]"#).unwrap();
        assert_eq!(b.items.len(), 2);
        assert!(!b.over());
        assert!(serde_json::from_str::<Bounded<u32, 3>>("{}").is_err());
        assert!(serde_json::from_str::<Bounded<u32, 3>>("[1,2,3,4,").is_err());
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Pair {
        a: u32,
        b: String,
    }

    #[test]
    fn objects_only() {
        let p: ObjectOnly<Pair> = serde_json::from_str(r#"{"a":1,"b":"x"}"#).unwrap();
        assert_eq!(
            p.into_inner(),
            Pair {
                a: 1,
                b: "x".into()
            }
        );
        assert!(serde_json::from_str::<ObjectOnly<Pair>>(r#"[1,"x"]"#).is_err());
        assert!(serde_json::from_str::<ObjectOnly<Pair>>(r#"{"a":1,"b":"x","c":2}"#).is_err());
        assert!(serde_json::from_str::<ObjectOnly<Pair>>(r#"{"a":1,"a":2,"b":"x"}"#).is_err());
    }
}

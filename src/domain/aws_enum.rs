//! AWS's enum values, typed: each is mapped once in its adapter (`parse`) and compared as a
//! value everywhere else. A value this version does not know is kept as `Other`, never guessed.

macro_rules! aws_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $aws:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($variant,)+
            Other(String),
        }

        impl $name {
            pub fn parse(aws: &str) -> $name {
                match aws {
                    $($aws => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }

            pub fn as_aws(&self) -> &str {
                match self {
                    $($name::$variant => $aws,)+
                    $name::Other(s) => s,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_aws())
            }
        }
    };
}

pub(crate) use aws_enum;

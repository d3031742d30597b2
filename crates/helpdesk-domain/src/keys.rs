//! API keys and access tokens as plain data: the kinds of key, the person a request acts as, and
//! the source networks a key may be used from.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::error::ValidationError;
use crate::ids::{AgentId, RequesterId};

/// What an API key acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyKind {
    /// Every request made with the key acts as this one agent.
    Agent {
        /// The agent the key is bound to.
        agent: AgentId,
    },
    /// Each request names the agent (or requester) it acts as; without one, the default agent.
    Superuser {
        /// The agent used when a request names nobody; without it such requests are refused.
        default_agent: Option<AgentId>,
    },
}

impl KeyKind {
    /// Whether this is a superuser key.
    pub const fn is_superuser(self) -> bool {
        matches!(self, Self::Superuser { .. })
    }
}

/// A person a request made with a key or token acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ActAs {
    /// An agent.
    Agent(AgentId),
    /// A requester (for example a customer-portal session).
    Requester(RequesterId),
}

impl From<ActAs> for Actor {
    fn from(person: ActAs) -> Self {
        match person {
            ActAs::Agent(id) => Actor::Agent(id),
            ActAs::Requester(id) => Actor::Requester(id),
        }
    }
}

impl fmt::Display for ActAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Agent(id) => write!(f, "agent {id}"),
            Self::Requester(id) => write!(f, "requester {id}"),
        }
    }
}

/// An IPv4 or IPv6 network in CIDR notation, such as `10.0.0.0/8` or `2001:db8::/32`.
///
/// Host bits below the prefix are cleared, so `192.168.1.7/24` is the network `192.168.1.0/24`;
/// an address without a prefix is a network of that one address.
///
/// IPv4 is compared as IPv4: a client address written as IPv6 (`::ffff:10.1.2.3`, as a dual-stack
/// socket reports it) belongs to the IPv4 networks that contain it, and a network written that
/// way is that IPv4 network (`::ffff:10.0.0.0/104` is `10.0.0.0/8`). A v4-mapped address with a
/// prefix below 96 is refused, as it mixes the two notations (`::ffff:10.0.0.0/8` would otherwise
/// be the IPv6 network `::/8`). IPv6 networks match IPv6 clients only: `::/0` does not cover
/// IPv4 clients.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// The network of `addr` with `prefix` leading bits (at most 32 for IPv4, 128 for IPv6). A
    /// v4-mapped IPv6 address (`::ffff:a.b.c.d`) with a prefix `p` of 96 to 128 gives the IPv4
    /// network `a.b.c.d/(p - 96)`; with a shorter prefix it is refused.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, ValidationError> {
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if (96..=128).contains(&prefix) => (IpAddr::V4(v4), prefix - 96),
                Some(v4) if prefix < 96 => {
                    let mut reason = format!(
                        "`{addr}/{prefix}` is an IPv4 address written as IPv6, which takes a prefix of 96 to 128"
                    );
                    if prefix <= 32 {
                        reason.push_str(&format!(
                            ": write `{v4}/{prefix}` or `{addr}/{}`",
                            prefix + 96
                        ));
                    }
                    return Err(ValidationError::Malformed {
                        field: "network",
                        reason,
                    });
                }
                _ => (addr, prefix),
            },
            IpAddr::V4(_) => (addr, prefix),
        };
        let addr = match addr {
            IpAddr::V4(v4) if prefix <= 32 => {
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & v4_mask(prefix)))
            }
            IpAddr::V6(v6) if prefix <= 128 => {
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & v6_mask(prefix)))
            }
            _ => {
                return Err(ValidationError::Malformed {
                    field: "network",
                    reason: format!("prefix `/{prefix}` is too long for `{addr}`"),
                });
            }
        };
        Ok(Self { addr, prefix })
    }

    /// The network's first address.
    pub const fn addr(self) -> IpAddr {
        self.addr
    }

    /// The number of leading bits that are fixed.
    pub const fn prefix(self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in the network.
    pub fn contains(self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & v4_mask(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & v6_mask(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

const fn v4_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - p as u32),
    }
}

const fn v6_mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - p as u32),
    }
}

impl FromStr for Network {
    type Err = ValidationError;

    /// Parses `address/prefix`, or a bare address (a network of one address).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || ValidationError::Malformed {
            field: "network",
            reason: format!("`{text}` is not an IPv4 or IPv6 network such as `10.0.0.0/8`"),
        };
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => {
                let digits_only = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit());
                let prefix = digits_only
                    .then(|| prefix.parse::<u8>().ok())
                    .flatten()
                    .ok_or_else(malformed)?;
                (addr, Some(prefix))
            }
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| malformed())?;
        let full = if addr.is_ipv4() { 32 } else { 128 };
        Self::new(addr, prefix.unwrap_or(full))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Network({self})")
    }
}

impl Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How the authentication of a logged request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestOutcome {
    /// `accepted`: a principal was returned.
    Accepted,
    /// `invalid_credentials`: the secret or token was wrong.
    InvalidCredentials,
    /// `too_many_attempts`: refused by the limits on secret verifications.
    TooManyAttempts,
    /// `key_disabled`
    KeyDisabled,
    /// `key_expired`
    KeyExpired,
    /// `token_expired`
    TokenExpired,
    /// `address_not_allowed`: the source address is outside the key's networks.
    AddressNotAllowed,
    /// `act_as_refused`: the person to act as was not allowed or not named.
    ActAsRefused,
    /// `person_unavailable`: the person does not exist or is disabled.
    PersonUnavailable,
    /// `failed`: the credential could not be checked (a server-side failure).
    Failed,
}

impl RequestOutcome {
    /// Every outcome, in the order of [`index`](Self::index).
    pub const ALL: [Self; 10] = [
        Self::Accepted,
        Self::InvalidCredentials,
        Self::TooManyAttempts,
        Self::KeyDisabled,
        Self::KeyExpired,
        Self::TokenExpired,
        Self::AddressNotAllowed,
        Self::ActAsRefused,
        Self::PersonUnavailable,
        Self::Failed,
    ];

    /// The position of the outcome in [`ALL`](Self::ALL).
    pub const fn index(self) -> usize {
        match self {
            Self::Accepted => 0,
            Self::InvalidCredentials => 1,
            Self::TooManyAttempts => 2,
            Self::KeyDisabled => 3,
            Self::KeyExpired => 4,
            Self::TokenExpired => 5,
            Self::AddressNotAllowed => 6,
            Self::ActAsRefused => 7,
            Self::PersonUnavailable => 8,
            Self::Failed => 9,
        }
    }

    /// The stable name, such as `accepted`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TooManyAttempts => "too_many_attempts",
            Self::KeyDisabled => "key_disabled",
            Self::KeyExpired => "key_expired",
            Self::TokenExpired => "token_expired",
            Self::AddressNotAllowed => "address_not_allowed",
            Self::ActAsRefused => "act_as_refused",
            Self::PersonUnavailable => "person_unavailable",
            Self::Failed => "failed",
        }
    }

    /// The outcome with this stable name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

impl fmt::Display for RequestOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&str, &str>) {
        let actual = text
            .parse::<Network>()
            .map(|n| n.to_string())
            .map_err(|e| e.to_string());
        assert_eq!(
            actual.as_deref().map_err(String::as_str),
            expected,
            "{text:?}"
        );
    }

    #[test]
    fn parses_and_normalizes() {
        check("10.0.0.0/8", Ok("10.0.0.0/8"));
        check(" 192.168.1.7/24 ", Ok("192.168.1.0/24"));
        check("203.0.113.9", Ok("203.0.113.9/32"));
        check("0.0.0.0/0", Ok("0.0.0.0/0"));
        check("2001:db8::1/32", Ok("2001:db8::/32"));
        check("::1", Ok("::1/128"));
        check("::/0", Ok("::/0"));
        // v4-mapped networks are IPv4 networks.
        check("::ffff:10.0.0.0/104", Ok("10.0.0.0/8"));
        check("::ffff:192.168.1.7/120", Ok("192.168.1.0/24"));
        check("::ffff:10.1.2.3", Ok("10.1.2.3/32"));
        check("::FFFF:0A01:0203/128", Ok("10.1.2.3/32"));
        check("::ffff:0:0/96", Ok("0.0.0.0/0"));
        check(
            "::ffff:10.0.0.0/8",
            Err(
                "`network` is not valid: `::ffff:10.0.0.0/8` is an IPv4 address written as IPv6, which takes a prefix of 96 to 128: \
                 write `10.0.0.0/8` or `::ffff:10.0.0.0/104`",
            ),
        );
        check(
            "::ffff:10.0.0.0/95",
            Err(
                "`network` is not valid: `::ffff:10.0.0.0/95` is an IPv4 address written as IPv6, which takes a prefix of 96 to 128",
            ),
        );
        // Not v4-mapped: IPv4-compatible and NAT64 addresses stay IPv6.
        check("::10.0.0.0/104", Ok("::a00:0/104"));
        check("64:ff9b::10.0.0.0/104", Ok("64:ff9b::a00:0/104"));
        check(
            "::ffff:10.0.0.0/129",
            Err("`network` is not valid: prefix `/129` is too long for `::ffff:10.0.0.0`"),
        );
        let bad = |t: &str| {
            Err(format!(
                "`network` is not valid: `{t}` is not an IPv4 or IPv6 network such as `10.0.0.0/8`"
            ))
        };
        for text in [
            "",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/x",
            "host",
            "10.0.0.0/256",
        ] {
            let actual = text.parse::<Network>().map_err(|e| e.to_string());
            assert_eq!(actual, bad(text), "{text:?}");
        }
        check(
            "10.0.0.0/33",
            Err("`network` is not valid: prefix `/33` is too long for `10.0.0.0`"),
        );
        check(
            "::/129",
            Err("`network` is not valid: prefix `/129` is too long for `::`"),
        );
    }

    #[test]
    fn contains_by_prefix() {
        let net = |t: &str| t.parse::<Network>().unwrap();
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        let cases = [
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("192.168.1.0/24", "192.168.2.0", false),
            ("203.0.113.9", "203.0.113.9", true),
            ("203.0.113.9", "203.0.113.8", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "::1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "2001:db8::1", true),
            ("::/0", "10.0.0.1", false),
            ("::/0", "::ffff:10.0.0.1", false),
            ("::ffff:10.0.0.0/104", "10.1.2.3", true),
            ("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true),
            ("::ffff:10.0.0.0/104", "11.0.0.1", false),
            ("::ffff:10.0.0.0/104", "::ffff:11.0.0.1", false),
            ("::ffff:0:0/96", "8.8.8.8", true),
            ("::ffff:0:0/96", "2001:db8::1", false),
            ("::1", "::1", true),
        ];
        for (network, address, expected) in cases {
            assert_eq!(
                net(network).contains(ip(address)),
                expected,
                "{network} ∋ {address}"
            );
        }
    }

    #[test]
    fn constructed_v4_mapped_networks_are_ipv4() {
        let mapped = Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped();
        let net = Network::new(IpAddr::V6(mapped), 104).unwrap();
        assert_eq!(net.addr(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(net.prefix(), 8);
        assert_eq!(net, "10.0.0.0/8".parse().unwrap());
        assert!(Network::new(IpAddr::V6(mapped), 64).is_err());
        assert!(Network::new(IpAddr::V6(mapped), 129).is_err());
    }

    #[test]
    fn serde_as_text() {
        let net: Network = "2001:db8::/48".parse().unwrap();
        let json = serde_json::to_string(&net).unwrap();
        assert_eq!(json, "\"2001:db8::/48\"");
        assert_eq!(serde_json::from_str::<Network>(&json).unwrap(), net);
        assert!(serde_json::from_str::<Network>("\"nope\"").is_err());
    }
}

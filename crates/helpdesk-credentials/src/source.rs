//! Where an attempt comes from, as the gate counts it: the network of its source address.

use std::net::IpAddr;

/// The network a request came from: one IPv4 address, one IPv6 /64, or the one source shared by
/// every request whose address is not known.
///
/// A /64 is the smallest network an IPv6 host is commonly given, so one host cannot pose as many
/// sources by changing its interface identifier. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
/// as a dual-stack socket reports an IPv4 peer) is the IPv4 address it maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source(Network);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Network {
    Unknown,
    V4(u32),
    /// The upper 64 bits of the address.
    V6(u64),
}

impl Source {
    /// The source of every request without an address.
    pub const UNKNOWN: Self = Self(Network::Unknown);

    /// The source of a request from `ip`, or [`Source::UNKNOWN`] without one.
    pub fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            None => Self::UNKNOWN,
            Some(IpAddr::V4(v4)) => Self(Network::V4(u32::from(v4))),
            Some(IpAddr::V6(v6)) => Self(Network::V6((u128::from(v6) >> 64) as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Source {
        Source::of(Some(text.parse().unwrap()))
    }

    #[test]
    fn sources_are_ipv4_addresses_and_ipv6_slash_64_networks() {
        let same = [
            ("192.0.2.1", "192.0.2.1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"),
            ("2001:db8:1:2::1", "2001:db8:1:2:abcd::"),
        ];
        for (a, b) in same {
            assert_eq!(of(a), of(b), "{a} and {b}");
        }
        let different = [
            ("192.0.2.1", "192.0.2.2"),
            ("2001:db8:1:2::1", "2001:db8:1:3::1"),
            ("::1", "0.0.0.1"),
            ("::", "0.0.0.0"),
            ("::192.0.2.1", "192.0.2.1"),
        ];
        for (a, b) in different {
            assert_ne!(of(a), of(b), "{a} and {b}");
        }
        assert_eq!(Source::of(None), Source::UNKNOWN);
        assert_ne!(of("0.0.0.0"), Source::UNKNOWN);
    }
}

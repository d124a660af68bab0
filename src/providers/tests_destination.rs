#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn policy(list: &[&str]) -> DestinationPolicy {
    DestinationPolicy::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap()
}

#[test]
fn entries_parse_names_addresses_ranges_and_ports() {
    let cases = [
        ("vllm.internal", true),
        ("VLLM.internal.:8000", true),
        ("*.corp.example", true),
        ("10.0.0.5", true),
        ("10.0.0.0/8", true),
        ("10.0.0.0/8:8000", true),
        ("fd12::1", true),
        ("fd12::/16", true),
        ("[fd12::1]:8000", true),
        ("[fd12::/16]:8000", true),
        ("", false),
        ("host:0", false),
        ("host:99999", false),
        ("bad host", false),
        ("[10.0.0.1]", false),
        ("a..b", false),
        ("http://x", false),
    ];
    for (text, ok) in cases {
        assert_eq!(AllowEntry::parse(text).is_ok(), ok, "{text}");
    }
    let err = DestinationPolicy::new(&["bad host".into()]).unwrap_err();
    assert!(err.contains(CONFIG_KEY), "{err}");
}

#[test]
fn public_is_allowed_and_private_or_loopback_only_when_listed() {
    let none = policy(&[]);
    assert!(none.check_ip(ip("8.8.8.8"), Some(443), None).is_ok());
    assert!(none.check_ip(ip("2606:4700::1111"), Some(443), None).is_ok());
    for private in ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "::1", "fd12::1"] {
        let e = none.check_ip(ip(private), Some(8000), None).unwrap_err().to_string();
        assert!(e.contains(CONFIG_KEY) && e.contains("destination policy"), "{private}: {e}");
    }
    let listed = policy(&["10.0.0.0/8", "::1", "192.168.1.7:8000", "vllm.lan"]);
    assert!(listed.check_ip(ip("10.200.0.1"), Some(1), None).is_ok());
    assert!(listed.check_ip(ip("::1"), Some(1), None).is_ok());
    assert!(listed.check_ip(ip("192.168.1.7"), Some(8000), None).is_ok());
    assert!(listed.check_ip(ip("192.168.1.7"), Some(8001), None).is_err(), "the listed port only");
    assert!(listed.check_ip(ip("192.168.1.8"), Some(8000), None).is_err());
    assert!(listed.check_ip(ip("172.16.0.1"), Some(8000), Some("vllm.lan")).is_ok(), "a listed name's addresses");
    assert!(listed.check_ip(ip("172.16.0.1"), Some(8000), Some("other.lan")).is_err());
    let wild = policy(&["*.corp.example"]);
    assert!(wild.check_ip(ip("10.0.0.1"), None, Some("a.b.corp.example")).is_ok());
    assert!(wild.check_ip(ip("10.0.0.1"), None, Some("corp.example")).is_err());
    assert!(wild.check_ip(ip("10.0.0.1"), None, Some("evilcorp.example")).is_err());
}

#[test]
fn metadata_and_link_local_are_refused_even_when_listed() {
    let listed = policy(&["169.254.0.0/16", "fe80::/10", "100.64.0.0/10", "fd00::/8", "0.0.0.0/0", "::/0"]);
    for never in [
        "169.254.169.254",
        "169.254.170.2",
        "fe80::1",
        "100.100.100.200",
        "fd00:ec2::254",
        "168.63.129.16",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "0.0.0.0",
        "::",
        "255.255.255.255",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
    ] {
        let e = listed.check_ip(ip(never), Some(80), None).unwrap_err().to_string();
        assert!(e.contains("never allowed"), "{never}: {e}");
    }
    assert!(listed.check_ip(ip("100.64.0.1"), Some(80), None).is_ok(), "the rest of a listed range");
    assert!(listed.check_url(&url("http://[::ffff:a9fe:a9fe]/v1")).is_err());
}

#[test]
fn gavel_own_address_is_refused_even_when_loopback_is_listed() {
    let own: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let p = policy(&["127.0.0.0/8", "localhost"]).with_own_address(own, "https://gavel.example.com");
    let e = p.check_url(&url("http://127.0.0.1:8080/v1")).unwrap_err().to_string();
    assert!(e.contains("own listen address"), "{e}");
    assert!(p.check_url(&url("http://localhost:8080/v1")).is_err(), "localhost is loopback");
    assert!(p.check_url(&url("http://127.0.0.1:8081/v1")).is_ok(), "another port is another service");
    assert!(p.check_url(&url("https://gavel.example.com/v1")).unwrap_err().to_string().contains("public URL"));
    assert!(p.port_rules_need_dns(), "names must be resolved when the own address is reachable");
    let any: SocketAddr = "0.0.0.0:9000".parse().unwrap();
    let p = policy(&["127.0.0.0/8"]).with_own_address(any, "");
    assert!(p.check_url(&url("http://127.0.0.1:9000/")).is_err(), "0.0.0.0 means loopback too");
    let p = policy(&[]).with_own_address(any, "");
    assert!(!p.port_rules_need_dns(), "nothing listed: no second lookup per call");
}

#[test]
fn localhost_names_are_loopback_without_dns() {
    let none = policy(&[]);
    for u in ["http://localhost:8000/v1", "http://LOCALHOST./v1", "http://app.localhost/v1"] {
        assert!(none.check_url(&url(u)).is_err(), "{u}");
    }
    assert!(none.check_url(&url("https://api.openai.com/v1")).is_ok());
    assert!(policy(&["localhost"]).check_url(&url("http://localhost:8000/v1")).is_ok());
    assert!(policy(&["127.0.0.1"]).check_url(&url("http://localhost:8000/v1")).is_ok());
}

#[tokio::test]
async fn resolver_removes_refused_answers() {
    use reqwest::dns::Resolve;
    let none = PolicyResolver::new(Arc::new(policy(&[])));
    let e = match none.resolve("localhost".parse().unwrap()).await {
        Ok(_) => panic!("localhost resolved through a policy that lists nothing"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("destination policy") && e.contains(CONFIG_KEY), "{e}");
    let listed = PolicyResolver::new(Arc::new(policy(&["127.0.0.0/8", "::1"])));
    let addrs: Vec<_> = listed.resolve("localhost".parse().unwrap()).await.unwrap().collect();
    assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
}

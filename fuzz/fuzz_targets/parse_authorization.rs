//! Fuzz target: arbitrary bytes into the `Authorization` header parser. It must never panic, and
//! whatever it accepts must parse to the same credential again once written out canonically.

#![no_main]

use std::sync::LazyLock;

use helpdesk_credentials::{Credential, KeyCode, Scheme, SchemeRegistry, basic_authorization};
use libfuzzer_sys::fuzz_target;

static SCHEMES: LazyLock<SchemeRegistry> = LazyLock::new(|| {
    SchemeRegistry::new()
        .with_alias("DdApi", Scheme::Key)
        .and_then(|schemes| schemes.with_alias("DdAccessToken", Scheme::Token))
        .expect("the aliases are valid")
});

fuzz_target!(|data: &[u8]| {
    let Ok(credential) = SCHEMES.parse(data) else {
        return;
    };
    let canonical = match &credential {
        Credential::Key { id, secret } => {
            let code = KeyCode::new(*id, secret.clone()).expect("a parsed key id is positive");
            vec![format!("key {}", code.expose()), basic_authorization(&code)]
        }
        Credential::Token { secret, .. } => vec![format!("Bearer {}", secret.expose())],
    };
    for header in canonical {
        assert_eq!(SCHEMES.parse_str(&header).ok().as_ref(), Some(&credential));
    }
});

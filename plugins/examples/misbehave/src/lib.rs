//! A deliberately misbehaving plugin, for the tests and the demo: each action (or, for events,
//! the `mode` setting) does one bad thing. The host must contain every one of them.

use std::hint::black_box;

use helpdesk_plugin_sdk::{Context, Event, Plugin, Widget, export_plugin, setting};

struct Misbehave;

fn recurse(depth: u64) -> u64 {
    // A frame with an address-taken buffer lives on the guest's own (linear-memory) stack.
    let buffer = black_box([depth as u8; 64]);
    if depth == u64::MAX {
        return u64::from(buffer[0]);
    }
    black_box(recurse(depth + 1)).wrapping_add(u64::from(buffer[1]))
}

/// Does what `mode` says; returns a report for the modes that are allowed to return.
fn misbehave(mode: &str) -> Result<String, String> {
    match mode {
        "ok" => Ok("fine".to_owned()),
        "loop" => {
            let mut i: u64 = 0;
            loop {
                i = black_box(i.wrapping_add(1));
            }
        }
        "grow" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 1 << 20]);
                black_box(&hoard);
            }
        }
        "recurse" => Ok(recurse(0).to_string()),
        "oversize" => Ok("x".repeat(4 << 20)),
        "oversize-error" => Err("e".repeat(4 << 20)),
        "panic" => panic!("the misbehaving plugin panicked on purpose"),
        "fs" => match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => Ok(format!("read {} bytes of /etc/passwd", text.len())),
            Err(e) => Err(format!("no filesystem: {e}")),
        },
        "env" => {
            let vars = std::env::vars().count();
            if vars == 0 {
                Err("no environment".to_owned())
            } else {
                Ok(format!("saw {vars} environment variables"))
            }
        }
        "net" => match std::net::TcpStream::connect("127.0.0.1:9") {
            Ok(_) => Ok("connected".to_owned()),
            Err(e) => Err(format!("no network: {e}")),
        },
        other => Err(format!("unknown mode `{other}`")),
    }
}

impl Plugin for Misbehave {
    fn on_event(_event: Event) -> Result<(), String> {
        misbehave(&setting::or("mode", "ok")).map(|_| ())
    }

    fn render(context: Context) -> Result<Widget, String> {
        if context.ticket == Some(-1) {
            // An oversized tree: far more nodes than the host accepts.
            let mut widget = Widget::new("Too much");
            for i in 0..10_000 {
                widget = widget.text(format!("line {i}"));
            }
            return Ok(widget);
        }
        let mut widget = Widget::new("Misbehave").text("Each button makes the plugin misbehave.");
        for mode in [
            "loop", "grow", "recurse", "oversize", "panic", "fs", "env", "net",
        ] {
            widget = widget.button(mode, mode, "");
        }
        Ok(widget)
    }

    fn on_action(_context: Context, action: String, _payload: String) -> Result<String, String> {
        misbehave(&action)
    }
}

export_plugin!(Misbehave);

//! A chat line's two JSON forms, written from one escaped copy of its text: the event
//! log's body (`RoomEvent::Chat`) and the frame every seat and observer gets
//! (`ServerMsg::Chat`).
//!
//! A chat line is the one message a server relays thousands of times a second. Through
//! serde, each form escapes the text byte by byte, and the frame first copies the text
//! into a `ServerMsg`; under callgrind that was about 14,000 instructions of a line's
//! ~56,000. Here the text is checked for anything JSON must escape in one vectorised
//! pass, quoted once, and both forms are put together around it. The output is byte for
//! byte what serde writes (the tests compare them on awkward texts), so neither the wire
//! protocol nor the log's format changes; anything unusual falls back to serde.

use crate::protocol::Role;
use crate::room::Millis;

/// Bytes a chat line's JSON takes besides its quoted text, at most: the field names, the
/// role and two numbers of up to 20 digits. Reserved up front so a form is never copied
/// to a larger buffer half-way (a `log_body` of 64 spare bytes was, every time).
const AROUND_TEXT: usize = 112;

/// `text` as a JSON string literal, quotes included, exactly as `serde_json` writes it.
/// Texts with nothing to escape (nearly every chat line) are copied as they are; the
/// rest go through serde_json. `None` only if serde_json fails, which it does not for a
/// `&str`.
pub fn quote(text: &str) -> Option<String> {
    // `|` rather than `||` and no early exit: the compiler turns the fold into a few
    // vector instructions per 32 bytes.
    let needs_escape = text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        return serde_json::to_string(text).ok();
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    quoted.push_str(text);
    quoted.push('"');
    Some(quoted)
}

/// Appends `n` in decimal, as serde_json writes integers (with the same `itoa`).
/// `write!` goes through `core::fmt`, about 600 instructions a number under callgrind;
/// a digit loop was about 180 (a division per digit, then a UTF-8 check of the digits);
/// `itoa` writes two digits at a time from a table.
pub fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Seller => "seller",
        Role::Buyer => "buyer",
    }
}

/// The event log's body for a chat line, as `serde_json::to_string(&RoomEvent::Chat {..})`
/// writes it, with `quoted` from [`quote`].
pub fn log_body(from: Role, quoted: &str, at: Millis, index: Option<u32>) -> String {
    let mut body = String::with_capacity(quoted.len() + AROUND_TEXT);
    body.push_str("{\"event\":\"chat\",\"from\":\"");
    body.push_str(role_name(from));
    body.push_str("\",\"text\":");
    body.push_str(quoted);
    body.push_str(",\"at\":");
    push_decimal(&mut body, at);
    if let Some(index) = index {
        body.push_str(",\"index\":");
        push_decimal(&mut body, u64::from(index));
    }
    body.push('}');
    body
}

/// The `chat` message for clients, as `serde_json::to_string(&ServerMsg::Chat {..})`
/// writes it (before the outbox numbers it), with `quoted` from [`quote`].
pub fn message(index: u32, from: Role, quoted: &str, at_ms: u64) -> String {
    let mut msg = String::with_capacity(quoted.len() + AROUND_TEXT);
    msg.push_str("{\"type\":\"chat\",\"index\":");
    push_decimal(&mut msg, u64::from(index));
    msg.push_str(",\"from\":\"");
    msg.push_str(role_name(from));
    msg.push_str("\",\"text\":");
    msg.push_str(quoted);
    msg.push_str(",\"at_ms\":");
    push_decimal(&mut msg, at_ms);
    msg.push('}');
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMsg;
    use crate::room::RoomEvent;

    const TEXTS: &[&str] = &[
        "",
        "hello",
        "#12:34:5678 how many units do you move a week? …",
        "quote \" and backslash \\ and slash /",
        "tab\there, newline\nthere, return\r, bell\u{7}, nul\u{0}, esc\u{1b}, del\u{7f}",
        "unicode: é ü 日本語 🎉 \u{2028} \u{2029} \u{feff}",
        "\u{8}\u{c}\u{1f}",
        "</script><!-- & ' >",
    ];

    #[test]
    fn decimals_are_what_serde_writes() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(
                out,
                format!("x{}", serde_json::to_string(&n).unwrap_or_default())
            );
        }
    }

    #[test]
    fn quoting_is_what_serde_writes() {
        for text in TEXTS {
            assert_eq!(
                quote(text).as_deref(),
                serde_json::to_string(text).ok().as_deref()
            );
        }
        let long = "a\"b".repeat(700);
        assert_eq!(quote(&long), serde_json::to_string(&long).ok());
    }

    #[test]
    fn the_log_body_is_what_serde_writes() {
        for text in TEXTS {
            for from in [Role::Seller, Role::Buyer] {
                for index in [None, Some(0), Some(4_000_000_000)] {
                    for at in [0, 1_764_500_000_000, u64::MAX] {
                        let event = RoomEvent::Chat {
                            from,
                            text: text.to_string(),
                            at,
                            index,
                        };
                        let quoted = quote(text).unwrap_or_default();
                        let body = log_body(from, &quoted, at, index);
                        assert!(body.len() <= quoted.len() + AROUND_TEXT);
                        assert_eq!(body, serde_json::to_string(&event).unwrap_or_default());
                    }
                }
            }
        }
    }

    #[test]
    fn the_message_is_what_serde_writes() {
        for text in TEXTS {
            for from in [Role::Seller, Role::Buyer] {
                for (index, at_ms) in [(0, 0), (17, 65_432), (u32::MAX, u64::MAX)] {
                    let msg = ServerMsg::Chat {
                        index,
                        from,
                        text: text.to_string(),
                        at_ms,
                    };
                    let quoted = quote(text).unwrap_or_default();
                    let frame = message(index, from, &quoted, at_ms);
                    assert!(frame.len() <= quoted.len() + AROUND_TEXT);
                    assert_eq!(frame, serde_json::to_string(&msg).unwrap_or_default());
                }
            }
        }
    }
}

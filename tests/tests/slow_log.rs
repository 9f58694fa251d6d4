//! A chat line reaches the partner without waiting for the disk, while its sender is
//! acknowledged only once it is saved, and each seat still sees the transcript in order.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use uncover_tests::fault::FaultLog;

/// Long enough that an answer which was going to come has come.
const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_partner_sees_a_line_while_it_is_saved_and_its_sender_is_acknowledged_after() {
    let (log, server) = FaultLog::server().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;

    log.hold();
    seller.chat("What slows your team down most?").await;
    let line = buyer.expect_chat_from("seller").await;
    assert_eq!(line["text"], "What slows your team down most?");
    assert_eq!(
        seller.next_within(QUIET).await,
        None,
        "no echo before the line is saved"
    );

    buyer.chat("Counting stock by hand.").await;
    assert_eq!(
        seller.next_within(QUIET).await,
        None,
        "the reply waits behind the seller's own unacknowledged line"
    );

    log.open();
    let own = seller.expect("chat").await;
    let reply = seller.expect("chat").await;
    assert_eq!(
        (own["from"].as_str(), own["index"].as_u64()),
        (Some("seller"), line["index"].as_u64())
    );
    assert_eq!(reply["from"], "buyer");
    assert_eq!(
        reply["index"].as_u64(),
        line["index"].as_u64().map(|i| i + 1)
    );
    let echo = buyer.expect_chat_from("buyer").await;
    assert_eq!(echo["text"], "Counting stock by hand.");
}

#[tokio::test]
async fn a_line_the_log_cannot_save_is_reported_to_its_sender_instead_of_acknowledged() {
    let (log, server) = FaultLog::server().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;

    log.hold();
    seller.chat("Who else signs off on this?").await;
    buyer.expect_chat_from("seller").await;
    log.fail_held();
    let refusal = seller.expect_error("unavailable").await;
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("could not save"),
        "{refusal}"
    );

    seller.chat("Let me ask that again.").await;
    let echo = seller.expect_chat_from("seller").await;
    assert_eq!(echo["text"], "Let me ask that again.");
    assert_eq!(
        buyer.expect_chat_from("seller").await["text"],
        "Let me ask that again."
    );
}

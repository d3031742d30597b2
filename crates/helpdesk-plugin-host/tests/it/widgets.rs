//! Widgets: rendered for a viewing agent within what both the install and the viewer may read,
//! read-only while rendering, escaped to HTML and given as JSON; buttons call back as both.

use helpdesk::{Actor, MessageKind, WidgetLocation};
use helpdesk_plugin_host::{HostError, Node};

use crate::support::Env;

#[test]
fn ticket_info_shows_age_and_the_requesters_other_tickets() {
    let env = Env::new();
    let app = env.install("ticket-info", None, &[]);
    let older = env.ticket("My <b>old</b> ticket");
    env.f.clock.advance_millis(3 * 3_600_000);
    let t = env.ticket("Current problem");
    env.f.clock.advance_millis(2 * 3_600_000);
    let ann = env.f.system.agent(env.f.ann.id).unwrap();
    let w = env
        .host
        .render(app.id, WidgetLocation::TicketSidebar, &ann, Some(t.id))
        .unwrap();
    assert_eq!(w.title, "Ticket info");
    assert!(
        w.nodes.contains(&Node::KeyValues {
            pairs: vec![
                ("Age".into(), "2 h".into()),
                ("Status".into(), "new".into()),
                ("Tags".into(), String::new()),
            ]
        }),
        "{w:?}"
    );
    let Some(Node::Table { rows, .. }) = w.nodes.iter().find(|n| matches!(n, Node::Table { .. }))
    else {
        panic!("{w:?}")
    };
    assert_eq!(
        rows,
        &[vec![
            format!("#{}", older.id),
            "My <b>old</b> ticket".into(),
            "new".into()
        ]]
    );
    let html = w.to_html();
    assert!(html.contains("My &lt;b&gt;old&lt;/b&gt; ticket"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    let json = w.to_json();
    assert_eq!(json["title"], "Ticket info");
    assert_eq!(json["nodes"][0]["type"], "badge");

    // Its button adds a note as the viewer, through the install.
    let message = env
        .host
        .action(
            app.id,
            WidgetLocation::TicketSidebar,
            &ann,
            Some(t.id),
            "follow-up",
            &t.id.to_string(),
        )
        .unwrap();
    assert_eq!(message, "A follow-up note was added.");
    let note = env.f.desk.messages(&env.root, t.id).unwrap().pop().unwrap();
    assert_eq!(note.kind, MessageKind::Note);
    assert_eq!(note.posted_by.actor, Actor::Agent(env.f.ann.id));
    assert_eq!(note.posted_by.install, Some(app.id));
    // Only where the manifest says.
    assert!(matches!(
        env.host
            .render(app.id, WidgetLocation::AgentDashboard, &ann, None),
        Err(HostError::NoWidget { .. })
    ));
}

#[test]
fn a_widget_reads_only_what_both_the_install_and_the_viewer_may_read() {
    let env = Env::new();
    let hardware = env.ticket_in("Hardware only", env.f.hardware.id);
    let app = env.install(
        "probe",
        None,
        &[(
            "render",
            &format!(
                "tickets.get {}\ntickets.note {} hi",
                hardware.id, hardware.id
            ),
        )],
    );
    let rendered = |who: &helpdesk::Principal| {
        let w = env
            .host
            .render(app.id, WidgetLocation::AgentDashboard, who, None)
            .unwrap();
        let Node::KeyValues { pairs } = &w.nodes[0] else {
            panic!("{w:?}")
        };
        pairs.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>()
    };
    let ann = env.f.system.agent(env.f.ann.id).unwrap();
    let hal = env.f.system.agent(env.f.hal.id).unwrap();
    // Ann (Billing) may not read it, Hal (Hardware) may; nobody writes while rendering.
    let as_ann = rendered(&ann);
    assert!(as_ann[0].starts_with("not found"), "{as_ann:?}");
    let as_hal = rendered(&hal);
    assert_eq!(as_hal[0], "ok Hardware only");
    assert!(
        as_hal[1].contains("cannot change anything while rendering"),
        "{as_hal:?}"
    );

    // Narrow the install to no ticket reading: even Hal then sees nothing through it.
    let narrow = env.install("ticket-info", Some(&[]), &[]);
    let err = env
        .host
        .render(
            narrow.id,
            WidgetLocation::TicketSidebar,
            &hal,
            Some(hardware.id),
        )
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

#[test]
fn everything_a_widget_returns_is_escaped_and_unsafe_links_are_not_links() {
    let env = Env::new();
    let nasty = "<script>alert('x')</script> & \"quotes\"";
    let app = env.install("probe", None, &[("title", nasty)]);
    let ann = env.f.system.agent(env.f.ann.id).unwrap();
    let w = env
        .host
        .render(app.id, WidgetLocation::AgentDashboard, &ann, None)
        .unwrap();
    let html = w.to_html();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://example.com/?a=1&amp;b=2\""),
        "{html}"
    );
    assert!(!html.contains("javascript:"), "{html}");
    assert!(html.contains("<span>sneaky</span>"), "{html}");
    assert!(html.contains("data-action=\"tickets.note 1 pressed\" data-payload=\"&quot;payload&quot;\">press &lt;me&gt;</button>"), "{html}");
    assert_eq!(
        w.to_json()["title"],
        nasty,
        "JSON keeps the text; the application escapes it"
    );
}

#[test]
fn requesters_cannot_view_widgets() {
    let env = Env::new();
    let app = env.install("ticket-info", None, &[]);
    let bob = env.f.system.requester(env.f.bob.id).unwrap();
    assert!(
        env.host
            .render(app.id, WidgetLocation::TicketSidebar, &bob, None)
            .is_err()
    );
}

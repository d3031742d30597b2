//! For the benchmarks only (hidden from the docs, not part of the API): the floor of a plugin
//! call. The `on-event` export is called directly through wasmtime on one reused instance, with
//! no limits armed, and the one host import the benchmark app uses, `tickets.get`, is answered
//! from memory.

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::v0_1::exports::helpdesk::plugin::app::Event;
use crate::bindings::v0_1::helpdesk::plugin::{
    clock, directory, kv, log, settings, tickets, types,
};
use crate::bindings::v0_1::{Plugin, helpdesk::plugin::types::Error};
use crate::error::{HostError, Result, engine};

/// Store data answering host calls from memory.
struct Memory {
    wasi: WasiCtx,
    table: ResourceTable,
    ticket: types::Ticket,
}

impl WasiView for Memory {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn unavailable<T>() -> Result<T, Error> {
    Err(Error::Unavailable("answered from memory".to_owned()))
}

impl types::Host for Memory {}

impl tickets::Host for Memory {
    fn get(&mut self, _id: i64) -> Result<types::Ticket, Error> {
        Ok(self.ticket.clone())
    }
    fn messages(&mut self, _ticket: i64) -> Result<Vec<types::Message>, Error> {
        unavailable()
    }
    fn search(&mut self, _query: tickets::SearchQuery) -> Result<Vec<types::Ticket>, Error> {
        unavailable()
    }
    fn create(&mut self, _ticket: tickets::NewTicket) -> Result<types::Ticket, Error> {
        unavailable()
    }
    fn update(
        &mut self,
        _id: i64,
        _v: u64,
        _u: tickets::TicketUpdate,
    ) -> Result<types::Ticket, Error> {
        unavailable()
    }
    fn add_message(
        &mut self,
        _t: i64,
        _k: types::MessageKind,
        _b: String,
    ) -> Result<types::Message, Error> {
        unavailable()
    }
}

impl directory::Host for Memory {
    fn agents(&mut self) -> Result<Vec<types::Agent>, Error> {
        unavailable()
    }
    fn departments(&mut self) -> Result<Vec<types::Department>, Error> {
        unavailable()
    }
}

impl clock::Host for Memory {
    fn now(&mut self) -> i64 {
        0
    }
}

impl kv::Host for Memory {
    fn get(&mut self, _key: String) -> Result<Option<Vec<u8>>, Error> {
        unavailable()
    }
    fn set(&mut self, _key: String, _value: Vec<u8>) -> Result<(), Error> {
        unavailable()
    }
    fn delete(&mut self, _key: String) -> Result<(), Error> {
        unavailable()
    }
}

impl settings::Host for Memory {
    fn get(&mut self, _name: String) -> Result<Option<String>, Error> {
        unavailable()
    }
}

impl log::Host for Memory {
    fn log(&mut self, _level: log::Level, _message: String) {}
}

/// One instance of a plugin, called directly.
#[doc(hidden)]
pub struct BareCall {
    store: Store<Memory>,
    plugin: Plugin,
    event: Event,
}

impl std::fmt::Debug for BareCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BareCall")
    }
}

impl BareCall {
    /// Instantiates `wasm` on a default engine, for events about ticket `ticket`.
    pub fn new(wasm: &[u8], ticket: i64) -> Result<Self> {
        let e = |e: wasmtime::Error| engine(format!("{e:#}"));
        let eng = Engine::default();
        let component = Component::new(&eng, wasm).map_err(e)?;
        let mut linker = Linker::new(&eng);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(e)?;
        Plugin::add_to_linker::<Memory, HasSelf<Memory>>(&mut linker, |s| s).map_err(e)?;
        let memory = Memory {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            ticket: types::Ticket {
                id: ticket,
                subject: "Printer on fire".to_owned(),
                status: types::Status::Open,
                priority: types::Priority::Normal,
                department: 1,
                assignee: None,
                requester: 1,
                tags: Vec::new(),
                fields: Vec::new(),
                created_at: 0,
                updated_at: 0,
                version: 1,
            },
        };
        let mut store = Store::new(&eng, memory);
        let plugin = Plugin::instantiate(&mut store, &component, &linker).map_err(e)?;
        let event = Event {
            delivery_id: "bench".to_owned(),
            seq: 1,
            kind: "ticket.created".to_owned(),
            at: 0,
            by: types::Attribution {
                actor: types::Actor::System,
                key: None,
                token: None,
                install: None,
            },
            ticket: Some(ticket),
            department: Some(1),
            data: "{}".to_owned(),
            attempt: 1,
        };
        Ok(Self {
            store,
            plugin,
            event,
        })
    }

    /// Calls `on-event` once.
    pub fn call(&mut self) -> Result<()> {
        self.plugin
            .helpdesk_plugin_app()
            .call_on_event(&mut self.store, &self.event)
            .map_err(|e| engine(format!("{e:#}")))?
            .map_err(HostError::Engine)
    }
}

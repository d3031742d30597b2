//! `Reach`: the set of tickets a subject may read, in a form that storage pushes down into a
//! query instead of checking tickets one by one.

use std::fmt;
use std::iter::FusedIterator;

use helpdesk_domain::{AgentId, DepartmentId, OrganizationId, RequesterId};

use crate::decision::DenyReason;
use crate::policy::Policy;
use crate::subject::TicketAttrs;

/// Which tickets a subject may read, from [`Policy::reach`].
#[derive(Clone, Copy, Debug)]
pub enum Reach<'p> {
    /// Every ticket (only the system).
    All,
    /// The tickets in these departments, and if `only_assigned_to` is set, only those assigned
    /// to that agent.
    Departments {
        /// The departments; never empty.
        departments: DepartmentSet<'p>,
        /// The agent the tickets must be assigned to, if the agent works only on its own.
        only_assigned_to: Option<AgentId>,
    },
    /// The requester's own tickets, and if `organization` is set, the tickets of every
    /// requester of that organization (set only when the organization shares tickets).
    Requester {
        /// The requester.
        id: RequesterId,
        /// The organization whose tickets are shared with the requester.
        organization: Option<OrganizationId>,
    },
    /// No ticket at all.
    Nothing(DenyReason),
}

impl Reach<'_> {
    /// Whether a ticket with these attributes is in reach.
    pub fn admits(&self, ticket: &TicketAttrs) -> bool {
        match *self {
            Self::All => true,
            Self::Departments {
                departments,
                only_assigned_to,
            } => {
                departments.contains(ticket.department)
                    && only_assigned_to.is_none_or(|agent| ticket.assignee == Some(agent))
            }
            Self::Requester { id, organization } => {
                ticket.requester == id
                    || organization.is_some_and(|o| ticket.requester_organization == Some(o))
            }
            Self::Nothing(_) => false,
        }
    }
}

/// A set of departments borrowed from a [`Policy`].
#[derive(Clone, Copy)]
pub struct DepartmentSet<'p> {
    policy: &'p Policy,
    words: &'p [u64],
}

impl<'p> DepartmentSet<'p> {
    pub(crate) const fn new(policy: &'p Policy, words: &'p [u64]) -> Self {
        Self { policy, words }
    }

    /// Whether `department` is in the set.
    pub fn contains(&self, department: DepartmentId) -> bool {
        self.policy
            .department_index(department)
            .and_then(|d| self.words.get(d / 64).map(|bits| bits >> (d % 64) & 1 == 1))
            .unwrap_or(false)
    }

    /// The number of departments in the set.
    pub fn len(&self) -> usize {
        self.words
            .iter()
            .map(|bits| bits.count_ones() as usize)
            .sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&bits| bits == 0)
    }

    /// The departments, in the order the policy input listed them.
    pub fn iter(&self) -> DepartmentIter<'p> {
        DepartmentIter {
            policy: self.policy,
            words: self.words,
            next_word: 0,
            base: 0,
            bits: 0,
        }
    }
}

impl<'p> IntoIterator for DepartmentSet<'p> {
    type Item = DepartmentId;
    type IntoIter = DepartmentIter<'p>;

    fn into_iter(self) -> DepartmentIter<'p> {
        self.iter()
    }
}

impl fmt::Debug for DepartmentSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Iterator over a [`DepartmentSet`].
#[derive(Clone)]
pub struct DepartmentIter<'p> {
    policy: &'p Policy,
    words: &'p [u64],
    /// The index of the next word to load into `bits`.
    next_word: usize,
    /// The department index of bit 0 of `bits`.
    base: usize,
    /// The remaining bits of the current word.
    bits: u64,
}

impl Iterator for DepartmentIter<'_> {
    type Item = DepartmentId;

    fn next(&mut self) -> Option<DepartmentId> {
        while self.bits == 0 {
            let &word = self.words.get(self.next_word)?;
            self.base = self.next_word * 64;
            self.next_word += 1;
            self.bits = word;
        }
        let d = self.base + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        self.policy.department_id(d)
    }
}

impl FusedIterator for DepartmentIter<'_> {}

impl fmt::Debug for DepartmentIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DepartmentIter").finish_non_exhaustive()
    }
}

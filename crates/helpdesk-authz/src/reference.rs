//! A deliberately simple reference model of the permission rules for differential tests:
//! straight loops over the raw `PolicyInput`, no indexes, no bit sets.

use helpdesk_domain::DepartmentId;

use crate::{AccessLevel, Action, Decision, DenyReason, PolicyInput, Principal, Resource, Subject};

/// What the rules say `subject` may do; must equal `Policy::decide`, reason included.
pub(crate) fn decide(
    input: &PolicyInput,
    subject: &Subject,
    action: Action,
    resource: &Resource,
) -> Decision {
    let verdict = principal_may(input, subject.principal, action, resource).and_then(|()| {
        if let Some(key) = subject.key
            && !key.scopes.contains(action)
        {
            return Err(DenyReason::KeyLacksScope {
                key: key.id,
                action,
            });
        }
        if let Some(token) = subject.token
            && !token.scopes.contains(action)
        {
            return Err(DenyReason::TokenLacksScope {
                token: token.id,
                action,
            });
        }
        if let Some(plugin) = subject.plugin
            && !plugin.scopes.contains(action)
        {
            return Err(DenyReason::PluginLacksScope {
                install: plugin.id,
                action,
            });
        }
        Ok(())
    });
    match verdict {
        Ok(()) => Decision::Allow,
        Err(reason) => Decision::Deny(reason),
    }
}

fn is_ticket_action(action: Action) -> bool {
    action.name().starts_with("tickets.")
}

fn needed_level(action: Action) -> AccessLevel {
    match action {
        Action::TicketRead => AccessLevel::Read,
        Action::TicketCreate => AccessLevel::Create,
        Action::TicketDelete => AccessLevel::Full,
        _ => AccessLevel::Change,
    }
}

fn department_known(input: &PolicyInput, department: DepartmentId) -> bool {
    input.departments.iter().any(|d| d.id == department)
}

fn principal_may(
    input: &PolicyInput,
    principal: Principal,
    action: Action,
    resource: &Resource,
) -> Result<(), DenyReason> {
    if is_ticket_action(action) {
        let fits = match resource {
            Resource::NewTicket { .. } => action == Action::TicketCreate,
            Resource::Ticket(_) => action != Action::TicketCreate,
            _ => false,
        };
        if !fits {
            return Err(DenyReason::WrongResource { action });
        }
    }
    match principal {
        Principal::System => Ok(()),
        Principal::Agent(id) => {
            let Some(agent) = input.agents.iter().find(|a| a.id == id) else {
                return Err(DenyReason::UnknownAgent { agent: id });
            };
            if !agent.active {
                return Err(DenyReason::AgentDisabled { agent: id });
            }
            let mut permitted = agent.admin;
            for role_id in &agent.roles {
                for role in &input.roles {
                    if role.id == *role_id && role.permissions.contains(action) {
                        permitted = true;
                    }
                }
            }
            if !permitted {
                return Err(DenyReason::RoleLacks { agent: id, action });
            }
            let (department, assignee) = match *resource {
                _ if !is_ticket_action(action) => return Ok(()),
                Resource::NewTicket { department, .. } => (department, None),
                Resource::Ticket(ticket) => (ticket.department, Some(ticket.assignee)),
                _ => return Err(DenyReason::WrongResource { action }),
            };
            if !department_known(input, department) {
                return Err(DenyReason::UnknownDepartment { department });
            }
            if agent.admin {
                return Ok(());
            }
            let mut has = None;
            for &(d, level) in &agent.levels {
                if d == department && has.is_none_or(|h| level > h) {
                    has = Some(level);
                }
            }
            let needs = needed_level(action);
            if has.is_none_or(|h| h < needs) {
                return Err(DenyReason::DepartmentLevel {
                    agent: id,
                    department,
                    has,
                    needs,
                });
            }
            if agent.only_assigned && assignee.is_some_and(|assignee| assignee != Some(id)) {
                return Err(DenyReason::OnlyAssigned { agent: id });
            }
            Ok(())
        }
        Principal::Requester { id, organization } => match (action, *resource) {
            (
                Action::TicketCreate,
                Resource::NewTicket {
                    department,
                    requester,
                },
            ) => {
                if requester != id {
                    Err(DenyReason::NotOwnTicket { requester: id })
                } else if !department_known(input, department) {
                    Err(DenyReason::UnknownDepartment { department })
                } else {
                    Ok(())
                }
            }
            (Action::TicketRead | Action::TicketReply, Resource::Ticket(ticket)) => {
                if ticket.requester == id {
                    return Ok(());
                }
                if let Some(org) = organization
                    && ticket.requester_organization == Some(org)
                    && input
                        .organizations
                        .iter()
                        .any(|o| o.id == org && o.shared_tickets)
                {
                    return Ok(());
                }
                Err(DenyReason::NotOwnTicket { requester: id })
            }
            _ => Err(DenyReason::RequesterCannot {
                requester: id,
                action,
            }),
        },
    }
}

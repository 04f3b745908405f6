// Every GraphQL operation the app sends, typed by graphql-codegen (`npm run codegen`).
import { graphql } from "./gql";

export const TaskFields = graphql(`
  fragment TaskFields on Task {
    id
    title
    description
    completed
    dueDate
    completedAt
    version
    listId
    parentId
    position
    tags
    recurrence
    timeZone
    remindAt
    remindedAt
    assigneeId
  }
`);

export const ListFields = graphql(`
  fragment ListFields on List {
    id
    name
    color
    position
    version
    role
    ownerId
  }
`);

/** Everything since a cursor (everything, without one): the offline-first sync. */
export const Changes = graphql(`
  query Changes($since: String) {
    taskChanges(since: $since) {
      changed { ...TaskFields }
      deletedIds
      changedLists { ...ListFields }
      deletedListIds
      cursor
    }
  }
`);

export const Viewer = graphql(`
  query Viewer { viewer { id } }
`);

export const Events = graphql(`
  subscription Events {
    taskEvents {
      kind
      id
      cursor
      task { ...TaskFields }
      listId
      list { ...ListFields }
    }
  }
`);

export const CreateList = graphql(`
  mutation CreateList($input: CreateListInput!, $key: String) {
    createList(input: $input, idempotencyKey: $key) { ...ListFields }
  }
`);

export const DeleteList = graphql(`
  mutation DeleteList($id: ID!, $key: String) {
    deleteList(id: $id, tasks: DELETE, idempotencyKey: $key) { listId taskIds }
  }
`);

export const CreateTask = graphql(`
  mutation CreateTask($input: CreateTaskInput!, $key: String) {
    createTask(input: $input, idempotencyKey: $key) { ...TaskFields }
  }
`);

export const UpdateTask = graphql(`
  mutation UpdateTask($id: ID!, $input: UpdateTaskInput!, $key: String) {
    updateTask(id: $id, input: $input, idempotencyKey: $key) { ...TaskFields }
  }
`);

export const SetCompleted = graphql(`
  mutation SetCompleted($id: ID!, $completed: Boolean!, $key: String) {
    setTaskCompleted(id: $id, completed: $completed, idempotencyKey: $key) { ...TaskFields }
  }
`);

export const DeleteTask = graphql(`
  mutation DeleteTask($id: ID!, $key: String) {
    deleteTask(id: $id, idempotencyKey: $key)
  }
`);

export const MoveTask = graphql(`
  mutation MoveTask($id: ID!, $afterId: ID, $beforeId: ID, $key: String) {
    moveTask(id: $id, afterId: $afterId, beforeId: $beforeId, idempotencyKey: $key) { ...TaskFields }
  }
`);

/** An invite link's token (the owner's; only this answer holds it). */
export const CreateListInvite = graphql(`
  mutation CreateListInvite($listId: ID!, $role: ListRole!, $expiresIn: String!) {
    createListInvite(listId: $listId, role: $role, expiresIn: $expiresIn) { token role expiresAt }
  }
`);

/** Joins the list an invite link is for. */
export const AcceptListInvite = graphql(`
  mutation AcceptListInvite($token: String!) {
    acceptListInvite(token: $token) { ...ListFields }
  }
`);

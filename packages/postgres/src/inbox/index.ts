export { Inbox, type InboxHandleOptions, type InboxHandler, type InboxOptions, type InboxStats } from './inbox';

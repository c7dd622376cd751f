/**
 * Who an execution belongs to: the name of the API key that submitted it.
 * Without API_KEYS (an open API on loopback) every request is this owner, as
 * is any job written before executions had owners.
 */
export const OPEN_OWNER = 'anonymous';

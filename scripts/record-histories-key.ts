/** A fixed, public test key: recorded histories must decode on any machine. Never use it for real. */
export const RECORDING_KEYS = `recording-test:${Buffer.alloc(32, 7).toString('base64')}`;

import { defineCommand, defineEvent, defineQuery } from '@switchyard/core';

/** The demo's vocabulary: a tiny user service. */
export const RegisterUser = defineCommand<{ userId: string; email: string }>('RegisterUser');
export const UserRegistered = defineEvent<{ userId: string; email: string }>('UserRegistered');
export const GetUser = defineQuery<{ userId: string }, { userId: string; email: string } | null>('GetUser');
export const CountUsers = defineQuery<Record<string, never>, number>('CountUsers');
export const SendWelcomeMail = defineCommand<{ email: string }>('SendWelcomeMail');

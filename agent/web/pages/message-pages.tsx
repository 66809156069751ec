/** The login form and the not-found page. */
import type { FC } from 'hono/jsx';
import { Layout, type PageFrame } from '../components/layout.js';

/** Props of the login page. */
export interface LoginPageProps {
  frame: PageFrame;
  /** Where to go after signing in (a same-origin path). */
  next: string;
  error?: string;
}

/** The sign-in form: the API token, sent once in a POST body, never in a URL. */
export const LoginPage: FC<LoginPageProps> = ({ frame, next, error }) => (
  <Layout frame={frame} title="Sign in" nav={null} live={false}>
    <h1>Sign in to vouch</h1>
    <p>
      This vouch listens beyond this machine, so its console needs the API token (<code>VOUCH_API_TOKEN</code>
      ). Signing in keeps a session cookie for 12 hours; the token is not stored in the browser.
    </p>
    {error ? (
      <p class="alert bad" role="alert">
        {error}
      </p>
    ) : null}
    <form method="post" action="/login" class="login">
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
      <input type="hidden" name="next" value={next} />
      <button type="submit">Sign in</button>
    </form>
  </Layout>
);

/** Props of the not-found page. */
export interface NotFoundProps {
  frame: PageFrame;
  message: string;
}

/** A console page for something that does not exist. */
export const NotFoundPage: FC<NotFoundProps> = ({ frame, message }) => (
  <Layout frame={frame} title="Not found" nav={null}>
    <h1>Not found</h1>
    <p>{message}</p>
    <p>
      <a href="/">Back to the overview</a>
    </p>
  </Layout>
);

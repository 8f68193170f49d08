import type { ReactNode } from 'react';

/** A screen's heading: focused on arrival (tabIndex -1), so keyboard and screen reader users start there. */
export function ScreenHeading({ children, step }: { children: ReactNode; step?: string }) {
  return (
    <div className="screen-heading">
      {step ? <p className="step">{step}</p> : null}
      <h2 tabIndex={-1} data-screen-heading="">
        {children}
      </h2>
    </div>
  );
}

/**
 * The control loops the controller-manager Lambda (and the local host) runs, in the order their
 * keys are reconciled within a batch. Adding a controller is adding it here.
 */
import { endpointsController } from './endpoints/endpoints-controller.ts';
import type { Controller } from './framework/controller.ts';

export const controllers: readonly Controller[] = [endpointsController];

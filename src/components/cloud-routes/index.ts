/** Routes in the router (the cloud's route table) for every node's pod CIDR, as kubenet on a cloud VPC. */
import { cloudRoutes } from './render.js';
import { backendComponent } from '../pod-network/component.js';

export const cloudRoutesComponent = backendComponent(cloudRoutes);
